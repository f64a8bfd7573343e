"""`eqscale demo` reuses finished work: over a finished `tiny` study it trains nothing, then fits
and writes the report."""

import shutil

import pytest

from eqscale.study.demo import run_demo
from eqscale.study.presets import PRESETS
from tests.study.helpers import table


def test_demo_resumes_a_finished_study(spec, local_study, tiny_dataset, tmp_path, capsys):
    if spec != PRESETS["tiny"]:
        pytest.skip("the tiny_dataset fixture no longer matches the tiny preset's data section")
    out = tmp_path / "demo"
    shutil.copytree(local_study[0], out)
    shutil.copytree(tiny_dataset, out / "data")
    before = table(out / "runs.csv")
    report = run_demo(out=str(out), preset="tiny", workers=1)
    text = capsys.readouterr().out
    assert "0 runs trained" in text and f"{len(before)} reused" in text
    assert table(out / "runs.csv") == before
    assert report.is_file() and report.suffix == ".html" and f"report: {report}" in text
    assert (out / "fits.json").is_file() and (report.parent / "report.md").is_file()
