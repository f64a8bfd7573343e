"""``eqscale train``: command-line arguments -> :class:`TrainConfig` -> :func:`run_training`."""

from __future__ import annotations

import os
from typing import Any

from eqscale.errors import EqscaleError, RunFailedError
from eqscale.train.config import make_config


def parse_size(size: str | int | None) -> int | None:
    """The size index from the command line (a non-negative integer, or absent)."""
    if size is None or isinstance(size, int):
        return size
    try:
        return int(size)
    except ValueError:
        raise EqscaleError(f"--size must be an integer size index, got {size!r}") from None


def train_from_cli(model: str, size: str | None, data: str, out: str, preset: str | None,
                   budget: float | None, steps: int | None, budget_convention: str | None,
                   augment: bool, train_subset: int | None, batch_size: int | None,
                   lr: float | None, seed: int, device: str | None,
                   quiet: bool, compile: bool | None = None,
                   threads: int | None = None) -> dict[str, Any]:
    """Build the run's config from a preset plus the given flags and train (or resume).

    A run that ends ``failed`` (e.g. a non-finite loss) raises :class:`RunFailedError` with its
    reason: the command exits with code 1, distinct from bad input (2).
    """
    import torch

    from eqscale.backends import default_threads
    from eqscale.train.loop import run_training

    if threads is not None and threads < 1:
        raise EqscaleError(f"--threads must be at least 1, got {threads}")
    if threads is not None:
        torch.set_num_threads(threads)
    elif "OMP_NUM_THREADS" not in os.environ:  # an explicit environment setting wins
        torch.set_num_threads(default_threads())
    config = make_config(
        preset, model=model, size=parse_size(size), budget=budget, steps=steps,
        budget_convention=budget_convention, augment=augment, train_subset=train_subset,
        batch_size=batch_size, lr=lr, seed=seed, device=device, compile=compile,
    )
    result = run_training(config, data, out, quiet=quiet)
    if result.get("status") == "failed":
        raise RunFailedError(f"run {out} failed: {result.get('reason')} (recorded in "
                             f"{out}/result.json; delete the run directory to retry)")
    return result
