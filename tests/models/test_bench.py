"""``eqscale bench models``: one run gives rows with utilisation against a measured peak."""

import json

import pytest
import torch

from eqscale.atomic import write_json_atomic
from eqscale.cli import main
from eqscale.devices import resolve_device
from eqscale.errors import EqscaleError
from eqscale.models.bench import (
    benchmark_batch,
    format_table,
    run_benchmark,
)
from eqscale.models.flops import flops_per_sample


def test_run_benchmark_measures_every_model(tmp_path):
    """Rows for every model, executed FLOPs from the accounting, positive times, a peak that a
    real matmul reached, utilisation below what the peak allows; the JSON round-trips."""
    result = run_benchmark({"transformer": (0, 1), "gatr": (0,)}, batch_size=2, objects=3,
                           faces=4, repeats=1, peak_n=64, device=torch.device("cpu"))
    assert [(r["arch"], r["size"]) for r in result["rows"]] == [
        ("transformer", 0), ("transformer", 1), ("gatr", 0)]
    assert result["matmul_peak_flops_per_second"] > 1e6  # 2 n^3 FLOPs did take finite time
    small, large = result["rows"][:2]
    assert large["flops_executed_per_step"] > small["flops_executed_per_step"] > 0
    for row in result["rows"]:
        assert row["step_seconds"] > 0 and 0 < row["utilisation"] < 2
        assert row["flops_executed_per_step"] == 2 * flops_per_sample(
            row["arch"], row["size"], 3, 4).executed
    table = format_table(result)
    assert "utilisation" in table and table.count("\n| ") == 4  # header + 3 rows
    path = tmp_path / "sub" / "bench.json"
    write_json_atomic(path, result)
    assert json.loads(path.read_text()) == result
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]  # no temp file left


def test_benchmark_batch_has_the_interface_keys():
    batch = benchmark_batch(2, 3, 4)
    assert batch["faces_t"].shape == (2, 3, 4, 3, 3) and batch["face_mask"].all()
    idx = batch["face_index"][..., None].expand(2, 3, 4, 3, 3).reshape(2, 3, 12, 3)
    assert torch.equal(torch.gather(batch["verts_t"], 2, idx).reshape(2, 3, 4, 3, 3),
                       batch["faces_t"])


def test_bad_device_is_a_user_error(capsys):
    with pytest.raises(EqscaleError):
        resolve_device("no-such-device")
    if not torch.cuda.is_available():
        assert main(["bench", "models", "--quick", "--device", "cuda"]) == 2
        assert "CUDA" in capsys.readouterr().err
