"""Kill/resume for real: SIGKILL the command line mid-run, restart it, compare bit for bit."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import torch

from eqscale.train.checkpoint import load_checkpoint
from eqscale.train.metrics import read_metrics
from tests.train.helpers import REPO_ROOT, cli_env, eqscale_cmd, read_result, run_cli


def _args(data: Path, out: Path) -> list[str]:
    return ["train", "--model", "transformer", "--preset", "tiny", "--steps", "240",
            "--batch-size", "2", "--lr", "3e-3", "--augment", "--seed", "5",
            "--data", str(data), "--out", str(out)]


def _kill_after_checkpoint(data: Path, out: Path, after_step: int) -> int:
    """Start the CLI, SIGKILL it once ``last.pt`` holds a step > ``after_step``."""
    proc = subprocess.Popen(eqscale_cmd(*_args(data, out), "--quiet"), env=cli_env(),
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = out / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 240
    seen = None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            stamp = last.stat().st_mtime_ns if last.is_file() else None
            if stamp is not None and stamp != seen:
                seen = stamp
                try:
                    step = load_checkpoint(last)["state"]["step"]
                except Exception:  # being replaced right now: look again
                    seen, step = None, -1
                if step > after_step:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    return step
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    raise AssertionError(f"run ended before it could be killed: {proc.stderr.read()!r}")


def _without_wall(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "wall_seconds"}


def test_sigkilled_run_resumes_to_the_uninterrupted_result(tiny_dataset, tmp_path):
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    done = run_cli(*_args(tiny_dataset, ref), "--quiet")
    assert done.returncode == 0, done.stderr

    first = _kill_after_checkpoint(tiny_dataset, killed, 0)
    assert not (killed / "result.json").exists()
    second = _kill_after_checkpoint(tiny_dataset, killed, first)
    assert second > first and not (killed / "result.json").exists()
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
