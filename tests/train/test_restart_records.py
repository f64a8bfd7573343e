"""Issue item 4: a run killed before its first checkpoint restarts from scratch and its records
start afresh: every step is in ``metrics.jsonl`` exactly once."""

from __future__ import annotations

import os
import signal

from eqscale.train.metrics import read_metrics
from tests.edges import metric_lines, run, start, wait_until


def test_restart_without_a_checkpoint_does_not_duplicate_records(tiny_dataset, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "transformer", "--preset", "tiny", "--steps", 60,
            "--data", tiny_dataset, "--out", out, "--quiet"]
    # The tiny preset checkpoints every 10 steps: kill at step 7 or so, before the first one.
    proc = start(*args, log=tmp_path / "log")
    try:
        wait_until(lambda: metric_lines(out) >= 3, 120, "the first records", proc,
                   tmp_path / "log")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if (out / "checkpoints" / "last.pt").exists():  # too slow a kill: remove what it saved
        (out / "checkpoints" / "last.pt").unlink()
    assert metric_lines(out) >= 3
    done = run(*args)
    assert done.returncode == 0, done.stderr
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "train"]
    assert steps == list(range(1, 61))
