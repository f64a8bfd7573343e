"""Size schedules and parameter counts: the formulas match the built modules."""

import pytest
import torch

from eqscale.errors import EqscaleError
from eqscale.models import architecture, build_model, parameter_count, size_config


@pytest.mark.parametrize("arch", ["transformer", "gatr"])
def test_parameter_formula_matches_modules_at_every_size(arch):
    with torch.device("meta"):  # shapes only: the largest sizes have ~2e8 parameters
        for size in range(len(architecture(arch).sizes)):
            model = build_model(arch, size, faces_per_object=16)
            assert sum(p.numel() for p in model.parameters()) == parameter_count(arch, size)


@pytest.mark.parametrize("arch", ["transformer", "gatr"])
def test_schedule_spans_cpu_to_cluster_sizes(arch):
    counts = [parameter_count(arch, i) for i in range(len(architecture(arch).sizes))]
    assert all(a < b for a, b in zip(counts, counts[1:]))  # one monotone knob
    assert counts[0] <= 1.1e4  # a CPU-test size
    assert counts[-1] >= 1e7  # a GPU-cluster size
    assert counts[-1] / counts[0] >= 100  # at least two decades


def test_sizes_accept_cli_strings_and_reject_bad_input():
    assert size_config("gatr", "2") == architecture("gatr").sizes[2]
    for arch, size in (("gatr", 99), ("gatr", -1), ("transformer", "big"), ("mlp", 0)):
        with pytest.raises(EqscaleError):
            size_config(arch, size)
    with pytest.raises(EqscaleError, match="faces_per_object"):
        build_model("gatr", 0, faces_per_object=0)


def test_documented_schedule_tables_match(request):
    """docs/models.md's schedule tables list the parameter counts the formulas give."""
    from pathlib import Path

    text = (Path(request.config.rootpath) / "docs" / "models.md").read_text()
    for arch in ("transformer", "gatr"):
        for size, config in enumerate(architecture(arch).sizes):
            fields = ", ".join(f"{k}={getattr(config, k)}" for k in config.__dataclass_fields__
                               if k in ("width", "depth", "heads", "mv_channels", "s_channels"))
            row = f"| {size} | {fields} | {parameter_count(arch, size):,} |"
            assert row in text, row
