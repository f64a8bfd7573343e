"""The committed CPU-scale result (docs/results/cpu/) is reproducible: ``eqscale fit`` on its
``runs.csv`` gives its ``fits.json``, the same numbers at the printed precision (the terminal
table) and to 1e-6 in every number of the file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eqscale.cli import main
from eqscale.scaling.summary import summary_table
from eqscale.study.presets import PRESETS

RESULT = Path(__file__).resolve().parents[2] / "docs" / "results" / "cpu"


def _numbers(node, path: str = ""):
    """Every number of a JSON tree by its path (``source`` names where the table was read)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "source":
                yield from _numbers(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _numbers(value, f"{path}/{i}")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path, float(node)
    else:
        yield path, node


def test_fit_reproduces_the_committed_fits(tmp_path, capsys):
    assert main(["fit", "--runs", str(RESULT / "runs.csv"), "--out", str(tmp_path),
                 "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    committed = json.loads((RESULT / "fits.json").read_text())
    refit = json.loads((tmp_path / "fits.json").read_text())
    assert summary_table({**refit, "source": committed["source"]}) == summary_table(committed)
    assert summary_table(refit).splitlines()[1:] == printed.splitlines()[1:-1]
    old, new = dict(_numbers(committed)), dict(_numbers(refit))
    assert old.keys() == new.keys()
    for path, value in old.items():
        if isinstance(value, float) and math.isfinite(value):
            assert new[path] == pytest.approx(value, rel=1e-6, abs=1e-12), path
        else:
            assert new[path] == value, path


def test_the_committed_result_is_the_cpu_preset_as_it_stands():
    """Editing the preset without rerunning the study would leave a result it did not make."""
    assert json.loads((RESULT / "study.json").read_text()) == PRESETS["cpu"].to_dict()
