"""Compute accounting: a FLOP budget -> a step count, and the compute figures of a run.

A budget C in one convention buys ``floor(C / (flops_per_sample * batch_size))`` optimiser
steps, where ``flops_per_sample`` is the forward + backward cost of one training sample from
:func:`eqscale.models.flops.flops_per_sample` (SPEC 5). Per-sample cost depends on the scene's
object count; we use the dataset's mean objects per scene, so the budget is met on average.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from eqscale.errors import EqscaleError


@dataclass(frozen=True)
class SampleCost:
    """FLOPs of one training sample (forward + backward) in both conventions."""

    nominal: float
    executed: float

    def in_convention(self, convention: str) -> float:
        if convention == "nominal":
            return self.nominal
        if convention == "executed":
            return self.executed
        raise EqscaleError(f"unknown budget convention {convention!r}")


def sample_cost(model: str, size: int, mean_objects: float, faces_per_object: int) -> SampleCost:
    """Per-sample training FLOPs of ``model`` at ``size`` for scenes of ``mean_objects``."""
    from eqscale.models.flops import flops_per_sample

    count = flops_per_sample(model, size, mean_objects, faces_per_object)
    return SampleCost(nominal=float(count.nominal), executed=float(count.executed))


def steps_for_budget(budget: float, flops_per_sample: float, batch_size: int) -> int:
    """Optimiser steps a budget buys: ``floor(budget / (flops_per_sample * batch_size))``.

    Raises :class:`EqscaleError` when the budget does not pay for a single step.
    """
    if not (flops_per_sample > 0 and math.isfinite(flops_per_sample)):
        raise EqscaleError(f"per-sample FLOPs must be positive and finite, got {flops_per_sample}")
    per_step = flops_per_sample * batch_size
    steps = math.floor(budget / per_step)
    if steps < 1:
        raise EqscaleError(
            f"budget {budget:.3g} FLOPs is below the cost of one step "
            f"({per_step:.3g} FLOPs = {flops_per_sample:.3g} per sample x batch {batch_size})"
        )
    return steps


def compute_figures(cost: SampleCost, samples_seen: int) -> dict[str, float]:
    """Training compute of ``samples_seen`` samples in both conventions (SPEC 5)."""
    return {
        "flops_nominal": cost.nominal * samples_seen,
        "flops_executed": cost.executed * samples_seen,
    }
