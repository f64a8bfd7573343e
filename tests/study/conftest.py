"""Study fixtures: the `tiny` study matched to the `tiny_dataset` fixture, trained once."""

import dataclasses
import json
from pathlib import Path

import pytest

from eqscale.study.presets import PRESETS
from eqscale.study.sweep import run_sweep


@pytest.fixture(scope="session")
def spec(tiny_dataset):
    """The `tiny` preset with its data section describing the fixture's dataset."""
    manifest = json.loads((Path(tiny_dataset) / "manifest.json").read_text())
    tiny = PRESETS["tiny"]
    n_train = manifest["splits"]["train"]["count"]
    sizes = tuple(sorted({min(n, n_train) for n in tiny.data_study.train_sizes}))
    return dataclasses.replace(
        tiny, data_study=dataclasses.replace(tiny.data_study, train_sizes=sizes),
        data=dataclasses.replace(tiny.data, n_train=n_train))


@pytest.fixture(scope="session")
def local_study(spec, tiny_dataset, tmp_path_factory):
    """The tiny study run once on the local backend: (study dir, SweepSummary)."""
    out = tmp_path_factory.mktemp("local")
    summary = run_sweep(spec, out, tiny_dataset, backend="local", workers=2, threads=1,
                        quiet=True)
    return out, summary
