"""A study's wall time before it runs: FLOP accounting x measured step times x scheduling.

``eqscale bench models --out steps.json`` times one forward + backward of each architecture at a
few sizes (batch, objects and faces in the file). Per architecture a step is modelled as
``t = overhead + flops / rate`` (executed FLOPs per step), least squares in relative error over
the measured sizes: the small sizes pin the per-step overhead (kernel launches, Python), the
large ones the FLOP rate, so sizes the benchmark did not time are extrapolated along the same
line. Each planned run then costs ``steps x t`` at its own executed FLOPs per step (the study's
batch, padded to the dataset's object slots), and the runs are placed on ``workers`` workers in
plan order, as the sweep dispatches them (the learning-rate stage first, then the rest), which
gives the makespan. Evaluation, checkpoints and data loading are not in the benchmark: the
estimate is of the training steps, a lower bound (docs/study.md records how far it is below a
measured study). Torch-free: planning reads the benchmark's JSON.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eqscale.data.format import MAX_OBJECTS
from eqscale.errors import EqscaleError
from eqscale.study.plan import EXPECTED_MEAN_OBJECTS, RunSpec, batch_size
from eqscale.study.spec import StudySpec


@dataclass(frozen=True)
class StepTimeModel:
    """Seconds of one training step of one architecture: ``overhead + flops / rate``."""

    overhead: float  # seconds per step whatever its size
    rate: float  # executed FLOP/s of the part that grows with the model

    def seconds(self, flops_per_step: float) -> float:
        return self.overhead + flops_per_step / self.rate


@dataclass(frozen=True)
class WallEstimate:
    """The plan's estimated training time: per kind of run (core-seconds) and the makespan."""

    seconds: float  # wall seconds on ``workers`` workers
    core_seconds: dict[str, float]  # per run kind (lr, compute, data)
    workers: int
    source: str  # the step-time file

    def text(self) -> str:
        total = sum(self.core_seconds.values())
        parts = ", ".join(f"{kind} {s / 60:.0f}" for kind, s in self.core_seconds.items())
        return (f"estimated wall time: {self.seconds / 60:.0f} min on {self.workers} worker(s) "
                f"(training steps only, at the step times of {self.source}; "
                f"{total / 60:.0f} worker-minutes: {parts})")


def fit_step_time(rows: list[dict]) -> StepTimeModel:
    """Least squares of ``overhead + flops / rate`` in relative error over measured rows
    (``flops_executed_per_step``, ``step_seconds``); both terms kept non-negative."""
    flops = np.array([r["flops_executed_per_step"] for r in rows], dtype=float)
    secs = np.array([r["step_seconds"] for r in rows], dtype=float)
    if len(rows) >= 2:
        design = np.stack([1 / secs, flops / secs], axis=1)  # (a + b F) / t ~ 1
        (a, b), *_ = np.linalg.lstsq(design, np.ones_like(secs), rcond=None)
        if a >= 0 and b > 0:
            return StepTimeModel(overhead=float(a), rate=float(1 / b))
    # One row, or a fit that wants a negative term: pure FLOP rate (the median of the rows).
    return StepTimeModel(overhead=0.0, rate=float(np.median(flops / secs)))


def load_step_times(path: str | Path) -> dict[str, StepTimeModel]:
    """Architecture -> its step-time model, from an ``eqscale bench models --out`` file."""
    try:
        bench = json.loads(Path(path).read_text())
        rows = bench["rows"]
        by_arch: dict[str, list[dict]] = {}
        for r in rows:
            by_arch.setdefault(r["arch"], []).append(
                {"flops_executed_per_step": float(r["flops_executed_per_step"]),
                 "step_seconds": float(r["step_seconds"])})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EqscaleError(f"--step-times {path}: not a result of `eqscale bench models --out` "
                           f"({exc})") from None
    if any(r["step_seconds"] <= 0 or r["flops_executed_per_step"] <= 0
           for rows_ in by_arch.values() for r in rows_):
        raise EqscaleError(f"--step-times {path}: step times and FLOPs must be positive")
    return {arch: fit_step_time(rows_) for arch, rows_ in by_arch.items()}


def run_seconds(run: RunSpec, spec: StudySpec, models: dict[str, StepTimeModel]) -> float:
    """Estimated seconds of one planned run's training steps."""
    from eqscale.train.budget import sample_cost

    if run.model not in models:
        raise EqscaleError(f"the step-time file has no measurements of {run.model!r} "
                           f"(it has {', '.join(sorted(models))})")
    cost = sample_cost(run.model, run.size, EXPECTED_MEAN_OBJECTS, spec.data.faces_per_object,
                       slots=MAX_OBJECTS)  # batches are padded to the object slots
    steps = run.steps or 0
    return steps * models[run.model].seconds(cost.executed * batch_size(spec))


def makespan(durations: list[float], workers: int) -> float:
    """Wall time of running ``durations`` in order, each on the first free of ``workers``."""
    free = [0.0] * max(1, workers)
    for d in durations:
        heapq.heapreplace(free, free[0] + d)
    return max(free)


def estimate_wall(runs: list[RunSpec], spec: StudySpec, step_times: str | Path,
                  workers: int) -> WallEstimate:
    """The estimated wall time of ``runs`` (a :func:`plan_study` list) on ``workers`` workers:
    the learning-rate stage, then the rest (it waits for the stage's picks)."""
    models = load_step_times(step_times)
    per_kind: dict[str, float] = {}
    stages: dict[bool, list[float]] = {True: [], False: []}
    for run in runs:
        seconds = run_seconds(run, spec, models)
        per_kind[run.kind] = per_kind.get(run.kind, 0.0) + seconds
        stages[run.kind == "lr"].append(seconds)
    wall = makespan(stages[True], workers) + makespan(stages[False], workers)
    return WallEstimate(seconds=wall, core_seconds=per_kind, workers=max(1, workers),
                        source=Path(step_times).name)
