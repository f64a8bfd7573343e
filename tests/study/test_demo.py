"""`eqscale demo` reuses finished work: over a finished `tiny` study it trains nothing, then fits
and writes the report; a run that crashes stops it before the fits."""

import shutil

import pytest

from eqscale.cli import main
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
    assert main(["demo", "--out", str(out), "--preset", "tiny", "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert f"{len(before)} runs already finished, 0 trained, 0 failed" in text
    assert "[4/4] writing the report" in text  # the demo's stage lines are shown
    assert table(out / "runs.csv") == before
    report = out / "report" / "report.html"
    assert report.is_file() and f"report: {report}" in text
    done = run_demo(out=str(out), preset="tiny", workers=1)  # the library call returns values
    assert done.report == report and done.summary.finished == [] and done.seconds > 0
    assert (out / "fits.json").is_file() and (report.parent / "report.md").is_file()


def test_demo_stops_before_the_fits_when_a_run_crashed(spec, local_study, tiny_dataset,
                                                       tmp_path, capsys):
    """A run whose task raises (a damaged checkpoint it must resume from) leaves the study
    incomplete: exit 1 naming the run, and no fits or report that would silently miss it."""
    if spec != PRESETS["tiny"]:
        pytest.skip("the tiny_dataset fixture no longer matches the tiny preset's data section")
    out = tmp_path / "demo"
    shutil.copytree(local_study[0], out)
    shutil.copytree(tiny_dataset, out / "data")
    victim = next(p for p in (out / "runs").iterdir() if p.name.startswith("compute-"))
    (victim / "result.json").unlink()
    (victim / "checkpoints").mkdir(exist_ok=True)
    (victim / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    assert main(["demo", "--out", str(out), "--preset", "tiny", "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert f"1 run(s) crashed ({victim.name}: " in err and "`eqscale demo` again" in err
    assert (victim / "sweep_error.json").is_file()
    assert not (out / "fits.json").exists() and not (out / "report").exists()
