"""Learning-rate schedule: linear warmup, then cosine decay to the run's own horizon."""

from __future__ import annotations

import math

import torch


def lr_factor(step: int, total_steps: int, warmup_fraction: float, min_ratio: float) -> float:
    """Multiplier of the peak learning rate for optimiser step ``step`` (0-based).

    Warmup: ``(step + 1) / warmup`` for the first ``warmup = ceil(warmup_fraction * total)``
    steps, so the first step already moves; then cosine from 1 to ``min_ratio`` at the
    last step ``total_steps - 1``.
    """
    warmup = math.ceil(warmup_fraction * total_steps)
    if step < warmup:
        return (step + 1) / warmup
    decay_steps = total_steps - warmup
    if decay_steps <= 1:
        return 1.0
    progress = min(1.0, (step - warmup) / (decay_steps - 1))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float, min_ratio: float
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`lr_factor`; its state travels in checkpoints."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, warmup_fraction, min_ratio)
    )
