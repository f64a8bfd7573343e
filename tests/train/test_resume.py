"""Kill/resume for real: SIGKILL the command line mid-run, restart it, compare bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from eqscale.train.checkpoint import load_checkpoint
from eqscale.train.metrics import read_metrics
from tests.killpoint import RUN_CLI, kill_at_pause
from tests.train.helpers import REPO_ROOT, cli_env, read_result, run_cli


def _args(data: Path, out: Path) -> list[str]:
    return ["train", "--model", "transformer", "--preset", "tiny", "--steps", "240",
            "--batch-size", "2", "--lr", "3e-3", "--augment", "--seed", "5",
            "--data", str(data), "--out", str(out)]


# Child patches: ``loop.save_checkpoint`` is what the training loop calls, ``checkpoint.
# write_atomic`` what writes the file, ``MetricsLog.write`` what appends to metrics.jsonl.
_PATCH = """
from eqscale.train import checkpoint, loop, metrics

AFTER = int(sys.argv.pop(1))
real_save, real_atomic, real_log = (loop.save_checkpoint, checkpoint.write_atomic,
                                    metrics.MetricsLog.write)
saved = []  # steps of the last.pt checkpoints completed past AFTER
"""

# Kill 1: once last.pt holds a step past AFTER and three more steps are logged beyond it, so
# that metrics.jsonl holds records the checkpoint does not cover (a resume must drop them).
_KILL_BETWEEN_CHECKPOINTS = _PATCH + """

def save_checkpoint(path, state):
    real_save(path, state)
    if path.name == "last.pt" and state["state"]["step"] > AFTER:
        saved.append(state["state"]["step"])


def log_write(self, record):
    real_log(self, record)
    if saved and record.get("step", 0) >= saved[-1] + 3:
        pause({"checkpoint": saved[-1], "logged": record["step"]})


loop.save_checkpoint, metrics.MetricsLog.write = save_checkpoint, log_write
"""

# Kill 2: in the middle of writing the next last.pt after one past AFTER was completed: the
# new file is written to its hidden temp file, not yet moved onto last.pt.
_KILL_MID_CHECKPOINT = _PATCH + """
armed = []


def save_checkpoint(path, state):
    step = state["state"]["step"] if path.name == "last.pt" else None
    armed[:] = [step] if step is not None and saved else []
    real_save(path, state)
    if step is not None and step > AFTER:
        saved.append(step)


def write_atomic(path, write):
    def half_done(f):
        write(f)
        f.flush()
        if armed:
            pause({"checkpoint": saved[-1], "writing": armed[0]})
    real_atomic(path, half_done)


loop.save_checkpoint, checkpoint.write_atomic = save_checkpoint, write_atomic
"""


def _kill(patch: str, data: Path, out: Path, after_step: int) -> dict:
    """Run the CLI with ``patch`` applied; SIGKILL it where the patch pauses; its info."""
    return kill_at_pause("import sys\n" + patch + RUN_CLI,
                         [str(after_step), *_args(data, out), "--quiet"],
                         env=cli_env(), cwd=REPO_ROOT, timeout=300)


def _last_step(out: Path) -> int:
    return load_checkpoint(out / "checkpoints" / "last.pt")["state"]["step"]


def _without_wall(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "wall_seconds"}


def test_sigkilled_run_resumes_to_the_uninterrupted_result(tiny_dataset, tmp_path):
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    done = run_cli(*_args(tiny_dataset, ref), "--quiet")
    assert done.returncode == 0, done.stderr

    # Killed between checkpoints, with records logged past the last one.
    info = _kill(_KILL_BETWEEN_CHECKPOINTS, tiny_dataset, killed, 0)
    first = info["checkpoint"]
    assert first > 0 and _last_step(killed) == first
    assert max(r["step"] for r in read_metrics(killed / "metrics.jsonl")) == info["logged"] > first
    assert not (killed / "result.json").exists()
    # Resumed, then killed while writing a later checkpoint: the old last.pt is intact.
    info = _kill(_KILL_MID_CHECKPOINT, tiny_dataset, killed, first)
    second = info["checkpoint"]
    assert second > first and _last_step(killed) == second and info["writing"] > second
    assert [p.stat().st_size > 0 for p in (killed / "checkpoints").glob(".last.pt.*")] == [True]
    assert not (killed / "result.json").exists()
    resumed = run_cli(*_args(tiny_dataset, killed))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {killed} at step" in resumed.stdout

    assert _without_wall(read_result(killed)) == _without_wall(read_result(ref))
    assert read_metrics(killed / "metrics.jsonl") == read_metrics(ref / "metrics.jsonl")
    for name in ("best.pt", "last.pt"):
        a = load_checkpoint(ref / "checkpoints" / name)["model"]
        b = load_checkpoint(killed / "checkpoints" / name)["model"]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    config = json.loads((killed / "config.json").read_text())
    assert config == json.loads((ref / "config.json").read_text())

    again = run_cli(*_args(tiny_dataset, killed))
    assert again.returncode == 0 and "already finished" in again.stdout
