"""The task a backend executes for one planned run, and the state of a run directory.

The config is built (and validated) in the driver (:func:`eqscale.study.plan.train_config`);
the task only sets the thread count and calls :func:`eqscale.train.loop.run_training`, which
resumes from the run directory's checkpoint when one exists. Everything a task takes and
returns is plain data, so it can cross process and machine boundaries (process pool, Ray).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eqscale.locks import is_locked
from eqscale.oserrors import storage_error

RUNS_DIR = "runs"
SWEEP_ERROR = "sweep_error.json"  # a task that raised (crash, not a failed training)


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs: the run's id, its TrainConfig as a dict, and where to work."""

    run_id: str
    config: dict[str, Any]
    data_dir: str
    run_dir: str
    threads: int


def execute_run(task: RunTask) -> dict[str, Any]:
    """Train (or resume) one run; returns the content of its ``result.json``."""
    import torch

    from eqscale.train.config import TrainConfig
    from eqscale.train.loop import run_training

    torch.set_num_threads(task.threads)
    config = TrainConfig.from_dict(task.config)
    try:
        return run_training(config, task.data_dir, task.run_dir, quiet=True,
                            placement=placement())
    except OSError as exc:  # the disk's fault: one line, and the sweep stops (see sweep.py)
        raise storage_error(exc) from None


def placement() -> dict[str, Any]:
    """Where this task runs: the host, and the GPUs a scheduler gave it (Ray's ids, and the
    ``CUDA_VISIBLE_DEVICES`` it set, which makes them this process's cuda devices)."""
    where: dict[str, Any] = {"host": socket.gethostname()}
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        where["cuda_visible_devices"] = os.environ["CUDA_VISIBLE_DEVICES"]
    ray = sys.modules.get("ray")  # imported in a Ray worker, never imported here
    if ray is not None and ray.is_initialized():
        where["ray_gpu_ids"] = [str(g) for g in ray.get_gpu_ids()]
    return where


def run_dir(study_dir: Path, rid: str) -> Path:
    return study_dir / RUNS_DIR / rid


def read_result(path: Path) -> dict[str, Any] | None:
    """A run directory's ``result.json``, or None when absent or unreadable (still running)."""
    try:
        return json.loads((path / "result.json").read_text())
    except (OSError, ValueError):  # ValueError: not JSON, or not UTF-8 text
        return None


def run_state(path: Path) -> str:
    """``finished``, ``failed`` (training said so), ``error`` (the task raised), ``running``
    (a process holds the run directory's lock now), ``partial`` (started and interrupted) or
    ``pending`` (never started)."""
    result = read_result(path)
    if result is not None:
        return "finished" if result.get("status") == "finished" else "failed"
    if (path / SWEEP_ERROR).is_file():
        return "error"
    if path.is_dir():
        return "running" if is_locked(path) else "partial"
    return "pending"
