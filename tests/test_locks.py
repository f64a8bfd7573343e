"""Issue item 2: a study, run or dataset directory is locked while a process works in it. A
second process says who holds the lock (host, pid, since when) and exits 2; a lock left by a
dead process is taken over; two real sweeps started at once never train the same runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from eqscale.errors import LockedError
from eqscale.locks import LOCK_NAME, folder_lock, is_locked
from eqscale.train.metrics import read_metrics
from tests.edges import (
    assert_one_line_error,
    live_group_members,
    metric_lines,
    run,
    slow_study,
    start,
    wait_until,
)
from tests.train.helpers import cli_env

HOLD = ("import sys, time; from eqscale.locks import folder_lock\n"
        "with folder_lock(sys.argv[1], 'study directory'):\n"
        "    print('held', flush=True); time.sleep(600)\n")


def _holder(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE,
                            text=True, env=cli_env())
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_lock_names_its_holder_and_a_dead_holders_lock_is_taken_over(tmp_path):
    holder = _holder(tmp_path / "study")
    try:
        with pytest.raises(LockedError) as exc:
            with folder_lock(tmp_path / "study", "study directory"):
                pass
        message = str(exc.value)
        for word in ("study directory", "in use by another eqscale process",
                     f"host {socket.gethostname()}", f"pid {holder.pid}", "since 20"):
            assert word in message, message
        assert is_locked(tmp_path / "study")
    finally:
        holder.kill()  # kill -9: the holder cannot clean up; the kernel drops its flock
        holder.wait()
    assert not is_locked(tmp_path / "study")
    with folder_lock(tmp_path / "study", "study directory"):
        record = json.loads((tmp_path / "study" / LOCK_NAME).read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()


def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path):
    with folder_lock(tmp_path / "d", "run directory"):
        with folder_lock(tmp_path / "d", "run directory"):
            assert is_locked(tmp_path / "d")
        assert is_locked(tmp_path / "d")
    assert not is_locked(tmp_path / "d")


def test_two_sweeps_started_at_once_one_trains_the_other_exits_2(tmp_path):
    """A fresh folder, so both would also generate its dataset: the issue's traceback case."""
    study, out = slow_study(tmp_path / "slow.json", steps=400), tmp_path / "study"
    procs = [start("sweep", "run", "--study", study, "--out", out, "--workers", 1,
                   log=tmp_path / f"{i}.log") for i in range(2)]
    try:
        wait_until(lambda: any(p.poll() is not None for p in procs), 120, "one sweep to stop")
        loser = next(i for i, p in enumerate(procs) if p.poll() is not None)
        winner = procs[1 - loser]
        text = (tmp_path / f"{loser}.log").read_text()
        done = subprocess.CompletedProcess([], procs[loser].returncode, "", text)
        assert_one_line_error(done, f"study directory {out} is in use", f"pid {winner.pid}",
                              "host ", "since ")
        runs = out / "runs"
        wait_until(lambda: runs.is_dir() and any(metric_lines(d) > 5 for d in runs.iterdir()),
                   120, "the winner to train", winner, tmp_path / f"{1 - loser}.log")
        status = run("sweep", "status", "--study", study, "--out", out)
        assert "running" in status.stdout, status.stdout  # the winner's runs hold their locks
        winner.send_signal(signal.SIGTERM)
        assert winner.wait(60) == 128 + signal.SIGTERM
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    assert not list(out.rglob("*.tmp"))  # no temporary shard folder left by the loser
    for run_dir in runs.iterdir():  # one writer per run: every step recorded once
        steps = [r["step"] for r in read_metrics(run_dir / "metrics.jsonl")
                 if r["kind"] == "train"]
        assert steps == list(range(1, len(steps) + 1))
    assert not live_group_members(winner.pid)


def test_a_second_train_on_a_busy_run_directory_exits_2(tiny_dataset, tmp_path):
    args = ["train", "--model", "transformer", "--preset", "tiny", "--steps", 5000,
            "--data", tiny_dataset, "--out", tmp_path / "run", "--quiet"]
    first = start(*args, log=tmp_path / "first.log")
    try:
        wait_until(lambda: metric_lines(tmp_path / "run") > 0, 120, "training", first,
                   tmp_path / "first.log")
        assert_one_line_error(run(*args), f"run directory {tmp_path / 'run'} is in use",
                              f"pid {first.pid}")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()


def test_a_second_generate_into_the_same_folder_exits_2(tmp_path):
    args = ["generate", "--out", tmp_path / "d", "--train", 4000, "--val", 0, "--test", 0,
            "--faces-per-object", 8]
    first = start(*args, log=tmp_path / "first.log")
    try:
        wait_until(lambda: (tmp_path / "d" / "manifest.json").is_file(), 120, "generating",
                   first, tmp_path / "first.log")
        assert_one_line_error(run(*args), "dataset directory", "is in use", f"pid {first.pid}")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
