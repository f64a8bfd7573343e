"""Compute accounting: a FLOP budget -> a step count, and the compute figures of a run.

A budget C in one convention buys ``floor(C / (flops_per_sample * batch_size))`` optimiser
steps, where ``flops_per_sample`` is the forward + backward cost of one training sample from
:func:`eqscale.models.flops.flops_per_sample`. Per-sample cost depends on the scene's
object count. The nominal count charges the real objects (the dataset's mean per scene, so a
budget is met on average): it is what the task needs, whatever the implementation. The executed
count charges every object slot the model really runs on, padding included (batches are padded
to the dataset's K slots), because that is what the hardware computes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from eqscale.errors import EqscaleError

# The step window of one run: a budget must buy between 1 and MAX_STEPS optimiser steps.
MAX_STEPS = 10**9


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


def sample_cost(model: str, size: int, mean_objects: float, faces_per_object: int,
                slots: int | None = None) -> SampleCost:
    """Per-sample training FLOPs of ``model`` at ``size``.

    Nominal FLOPs for scenes of ``mean_objects`` real objects; executed FLOPs for the ``slots``
    object slots a padded batch runs on (``None``: no padding, slots = ``mean_objects``).
    """
    from eqscale.models.flops import flops_per_sample

    nominal = flops_per_sample(model, size, mean_objects, faces_per_object).nominal
    padded = mean_objects if slots is None else slots
    executed = flops_per_sample(model, size, padded, faces_per_object).executed
    return SampleCost(nominal=float(nominal), executed=float(executed))


def budget_steps(budget: float, flops_per_sample: float, batch_size: int) -> int:
    """``floor(budget / (flops_per_sample * batch_size))`` with no range check (0 when the
    budget does not pay for one step); a non-finite budget or cost is an :class:`EqscaleError`.
    """
    if not (flops_per_sample > 0 and math.isfinite(flops_per_sample)):
        raise EqscaleError(f"per-sample FLOPs must be positive and finite, got {flops_per_sample}")
    if not math.isfinite(budget):
        raise EqscaleError(f"budget must be a finite number of FLOPs, got {budget}")
    return max(0, math.floor(budget / (flops_per_sample * batch_size)))


def steps_for_budget(budget: float, flops_per_sample: float, batch_size: int) -> int:
    """Optimiser steps a budget buys: ``floor(budget / (flops_per_sample * batch_size))``.

    Raises :class:`EqscaleError` when the budget does not pay for a single step, or buys more
    than :data:`MAX_STEPS` (a budget far beyond what the model can spend is a typo, not a run).
    """
    steps = budget_steps(budget, flops_per_sample, batch_size)
    per_step = flops_per_sample * batch_size
    if steps < 1:
        raise EqscaleError(
            f"budget {budget:.3g} FLOPs is below the cost of one step "
            f"({per_step:.3g} FLOPs = {flops_per_sample:.3g} per sample x batch {batch_size})"
        )
    if steps > MAX_STEPS:
        raise EqscaleError(
            f"budget {budget:.3g} FLOPs buys {steps:.3g} steps of this model "
            f"({per_step:.3g} FLOPs each), more than the {MAX_STEPS:.0e} a run may take; "
            "use a smaller budget or a larger model (--size)"
        )
    return steps


def compute_figures(cost: SampleCost, samples_seen: int) -> dict[str, float]:
    """Training compute of ``samples_seen`` samples in both conventions (docs/models.md)."""
    return {
        "flops_nominal": cost.nominal * samples_seen,
        "flops_executed": cost.executed * samples_seen,
    }
