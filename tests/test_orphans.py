"""Issue item 1: workers die with their parent. ``kill -9`` of ``eqscale generate`` or
``eqscale sweep run`` and ``kill -TERM`` of a sweep leave no process of theirs behind (checked
in the process table), and nothing goes on training after the sweep is gone."""

from __future__ import annotations

import os
import signal
import time

from tests.edges import live_group_members, metric_lines, slow_study, start, wait_until


def _assert_group_dies(pgid: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while live_group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = live_group_members(pgid)
    if orphans:
        os.killpg(pgid, signal.SIGKILL)  # do not leave them running after the test
    assert not orphans, f"orphans left: {orphans}"


def _busy_sweep(tiny_dataset, tmp_path):
    """A 2-worker sweep whose two runs are both training; (process, run dirs, log)."""
    study = slow_study(tmp_path / "slow.json")
    log, out = tmp_path / "sweep.log", tmp_path / "study"
    proc = start("sweep", "run", "--study", study, "--out", out, "--data", tiny_dataset,
                 "--workers", 2, log=log)
    runs = out / "runs"

    def training() -> bool:
        dirs = list(runs.glob("*")) if runs.is_dir() else []
        return len(dirs) == 2 and all(metric_lines(d) >= 2 for d in dirs)

    try:
        wait_until(training, 240, "both runs training", proc, log)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    assert len(live_group_members(proc.pid)) >= 3  # the driver and two pool workers
    return proc, sorted(runs.glob("*")), log


def test_kill_9_of_generate_leaves_no_workers(tmp_path):
    log, out = tmp_path / "gen.log", tmp_path / "data"
    proc = start("generate", "--out", out, "--train", 4000, "--val", 0, "--test", 0,
                 "--workers", 2, "--shard-size", 4, "--faces-per-object", 8, log=log)
    try:
        wait_until(lambda: (out / "train" / "shard_00000").is_dir(), 240, "the first shard",
                   proc, log)
        assert len(live_group_members(proc.pid)) >= 3
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    _assert_group_dies(proc.pid)


def test_kill_9_of_a_sweep_stops_its_training(tiny_dataset, tmp_path):
    proc, run_dirs, _ = _busy_sweep(tiny_dataset, tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _assert_group_dies(proc.pid)
    sizes = [(d / "metrics.jsonl").stat().st_size for d in run_dirs]
    time.sleep(1.5)
    assert [(d / "metrics.jsonl").stat().st_size for d in run_dirs] == sizes  # nobody trains


def test_sigterm_of_a_sweep_stops_its_workers_and_says_so(tiny_dataset, tmp_path):
    proc, _, log = _busy_sweep(tiny_dataset, tmp_path)
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(60)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
    assert code == 128 + signal.SIGTERM
    text = log.read_text()
    assert "Traceback" not in text and "eqscale: terminated (SIGTERM)" in text
    _assert_group_dies(proc.pid)
