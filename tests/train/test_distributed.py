"""Data parallel: two Gloo processes under torchrun follow the single-process loss curve."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eqscale.train.metrics import read_metrics
from tests.train.helpers import REPO_ROOT, cli_env, read_result, run_cli, train_losses


def _args(data, out):
    return ["train", "--model", "transformer", "--preset", "tiny", "--steps", "12",
            "--batch-size", "4", "--seed", "2", "--data", str(data), "--out", str(out),
            "--quiet"]


def test_two_process_run_matches_the_single_process_run(tiny_dataset, tmp_path):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    one = run_cli(*_args(tiny_dataset, single))
    assert one.returncode == 0, one.stderr
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "eqscale", *_args(tiny_dataset, ddp)]
    two = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=cli_env(),
                         cwd=REPO_ROOT)
    assert two.returncode == 0, two.stderr[-3000:]

    a, b = train_losses(single), train_losses(ddp)
    assert len(a) == len(b) == 12
    assert b == pytest.approx(a, rel=1e-4)
    assert a[0] != a[-1]  # the curve moves, so agreement is not trivial
    ra, rb = read_result(single), read_result(ddp)
    assert rb["world_size"] == 2 and ra["world_size"] == 1
    assert rb["D"] == ra["D"] == 48 and rb["steps"] == 12
    assert rb["test_loss"] == pytest.approx(ra["test_loss"], rel=1e-4)
    vals = [r["val_loss"] for r in read_metrics(ddp / "metrics.jsonl") if r["kind"] == "val"]
    assert len(vals) == 2  # one writer: rank 0 alone logged
