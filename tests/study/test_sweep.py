"""A `tiny` study end to end: both backends give the same run table, an interrupted sweep
resumes (finished runs skipped, same table), and `status` reports where a study stands."""

import csv
import json

import pytest

from eqscale.cli import main
from eqscale.study.collect import RESULT_COLUMNS
from eqscale.study.plan import plan_lr_stage, plan_study, run_id
from eqscale.study.runner import run_dir
from eqscale.study.sweep import read_picks, run_sweep
from tests.killpoint import kill_at_pause
from tests.study.helpers import table as _table


def test_tiny_study_runs_end_to_end(spec, local_study):
    out, summary = local_study
    picks = read_picks(out)
    assert set(picks) == set(spec.arms) and all(p in spec.lr.grid for p in picks.values())
    runs = plan_study(spec, picks)
    assert not summary.failed and not summary.crashed and len(summary.finished) == len(runs)
    table = _table(out / "runs.csv")
    assert set(table) == {run_id(r, spec) for r in runs}
    with open(out / "runs.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header[:3 + len(RESULT_COLUMNS)] == ["study", "run_id", "kind", *RESULT_COLUMNS]
    for run in runs:
        row = table[run_id(run, spec)]
        assert row["kind"] == run.kind and row["model"] == run.model
        assert row["status"] == "finished" and float(row["test_loss"]) > 0
        assert row["augment"] == ("true" if run.augment else "false")
        assert float(row["constant_velocity_loss"]) > 0 and float(row["no_motion_loss"]) > 0
        skill = 1 - float(row["test_loss"]) / float(row["constant_velocity_loss"])
        assert float(row["skill"]) == pytest.approx(skill)
        # Later runs train at their arm's pick; stage runs at their own grid point.
        assert float(row["lr"]) == (run.lr if run.kind == "lr" else picks[run.arm])
        if run.kind == "compute":
            # The budget is spent: within one step of the planned compute.
            assert int(row["steps"]) >= spec.compute.min_steps
            assert float(row["flops_nominal"]) <= run.budget


def test_ray_backend_gives_the_same_table(spec, local_study, tiny_dataset, tmp_path):
    pytest.importorskip("ray")
    summary = run_sweep(spec, tmp_path, tiny_dataset, backend="ray", workers=2, threads=1,
                        quiet=True)
    assert not summary.failed and not summary.crashed
    assert _table(tmp_path / "runs.csv") == _table(local_study[0] / "runs.csv")


# Child patch: once two runs have their result.json, the next run is killed right after its
# first checkpoint (``loop.save_checkpoint``, called in-process with one worker): two runs
# finished, one partial (checkpointed, no result), the rest not started.
_KILL_IN_THIRD_RUN = """
import sys
from pathlib import Path

from eqscale.study.presets import load_study
from eqscale.study.sweep import run_sweep
from eqscale.train import loop

real_save = loop.save_checkpoint


def save_checkpoint(path, state):
    real_save(path, state)
    path = Path(path)
    finished = sorted(p.parent.name for p in path.parents[2].glob("*/result.json"))
    if path.name == "last.pt" and len(finished) >= 2:
        pause({"finished": finished, "partial": path.parents[1].name})


loop.save_checkpoint = save_checkpoint
run_sweep(load_study(sys.argv[1]), sys.argv[2], sys.argv[3], workers=1, threads=1, quiet=True)
"""


def test_interrupted_sweep_resumes(spec, local_study, tiny_dataset, tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(spec.to_dict()))
    info = kill_at_pause(_KILL_IN_THIRD_RUN, [str(tmp_path / "spec.json"),
                                              str(tmp_path / "study"), str(tiny_dataset)])
    results = tmp_path / "study" / "runs"
    done = {p.parent.name: p.stat().st_mtime_ns for p in results.glob("*/result.json")}
    assert sorted(done) == info["finished"] and len(done) == 2
    partial = results / info["partial"]
    assert (partial / "checkpoints" / "last.pt").is_file() and partial.name not in done
    assert len(list(results.iterdir())) == 3 < len(plan_study(spec))  # interrupted mid-way

    summary = run_sweep(spec, tmp_path / "study", tiny_dataset, workers=1, threads=1,
                        quiet=True)
    assert set(done) <= set(summary.skipped) and not summary.failed and not summary.crashed
    assert partial.name in summary.finished  # the partial run was resumed, not skipped
    for rid, mtime in done.items():
        assert (results / rid / "result.json").stat().st_mtime_ns == mtime
    assert _table(tmp_path / "study" / "runs.csv") == _table(local_study[0] / "runs.csv")


def test_status_and_plan_report_the_study(spec, local_study, capsys, tmp_path):
    out, _ = local_study
    (tmp_path / "spec.json").write_text(json.dumps(spec.to_dict()))
    assert main(["sweep", "status", "--study", str(tmp_path / "spec.json"),
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    n = len(plan_study(spec))
    assert f"{n} runs: {n} finished" in text and "learning rates picked by the lr stage" in text
    assert main(["sweep", "plan", "--study", str(tmp_path / "spec.json"),
                 "--out", str(tmp_path / "empty")]) == 0
    stage = len(plan_lr_stage(spec))
    assert f"{n} runs: {stage} pending, {n - stage} waiting" in capsys.readouterr().out
    # A run directory without result.json is an interrupted (partial) run.
    run_dir(tmp_path / "empty", run_id(plan_study(spec)[0], spec)).mkdir(parents=True)
    assert main(["sweep", "status", "--study", str(tmp_path / "spec.json"),
                 "--out", str(tmp_path / "empty")]) == 0
    assert (f"{n} runs: 1 partial, {stage - 1} pending, {n - stage} waiting"
            in capsys.readouterr().out)


def test_bad_study_is_a_one_line_error(capsys, tmp_path):
    assert main(["sweep", "plan", "--study", "no-such-study", "--out", str(tmp_path)]) == 2
    assert "neither a preset" in capsys.readouterr().err
    assert main(["sweep", "run", "--study", "tiny", "--out", str(tmp_path),
                 "--data", str(tmp_path / "nodata")]) == 2
    assert "no dataset" in capsys.readouterr().err


def test_a_crashed_run_stops_the_lr_stage_and_exits_1(spec, tiny_dataset, capsys, tmp_path):
    """A stage run whose task raises (here: a damaged checkpoint it must resume from) leaves
    the stage incomplete: no picks, no later run, exit 1 naming the run; once the cause is gone,
    the same command retries it and the stage completes."""
    (tmp_path / "spec.json").write_text(json.dumps(spec.to_dict()))
    out = tmp_path / "study"
    victim = run_dir(out, run_id(plan_lr_stage(spec)[0], spec))
    (victim / "checkpoints").mkdir(parents=True)
    (victim / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    argv = ["sweep", "run", "--study", str(tmp_path / "spec.json"), "--out", str(out),
            "--data", str(tiny_dataset), "--workers", "2"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert f"crashed: {victim.name}: " in captured.out and "is corrupt" in captured.out
    assert f"1 run(s) crashed ({victim.name}: " in captured.err
    assert "`eqscale sweep run` again" in captured.err
    assert (victim / "sweep_error.json").is_file() and read_picks(out) is None
    stage = {run_id(r, spec) for r in plan_lr_stage(spec)}
    assert {p.name for p in victim.parent.iterdir()} == stage  # no later run started
    (victim / "checkpoints" / "last.pt").unlink()
    assert main([*argv, "--lr-only"]) == 0
    assert "crashed: " not in capsys.readouterr().out and read_picks(out) is not None
