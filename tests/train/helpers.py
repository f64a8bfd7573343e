"""Shared helpers of the training tests: tiny configs, metric reading, subprocess runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from eqscale.train.config import make_config
from eqscale.train.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]


def tiny(**overrides):
    """The `tiny` preset with test-friendly overrides (quick evaluation)."""
    return make_config("tiny", **overrides)


def train_losses(run_dir: Path) -> list[float]:
    return [r["loss"] for r in read_metrics(run_dir / "metrics.jsonl") if r["kind"] == "train"]


def read_result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def cli_env() -> dict[str, str]:
    """Environment for eqscale subprocesses: one thread each (bitwise-reproducible, polite)."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = str(REPO_ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def eqscale_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "eqscale", *args]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(eqscale_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=cli_env(), cwd=REPO_ROOT)
