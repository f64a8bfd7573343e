"""Why a run failed, in words a user can act on, and the run directory's lock.

A non-finite loss has two kinds of cause: the data (values that are non-finite or far outside
any physical scene, e.g. a corrupted shard whose checksum was updated) or the optimisation (a
learning rate that makes the model diverge). :func:`non_finite_reason` looks at the batch that
produced the loss and names the shard folders it came from when the data is to blame.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch

# Positions are metres in a 160 m floor scene; masses and scales are O(1..1e3). Inputs beyond
# this are not physics but broken data, and their squares overflow float32 losses.
EXTREME = 1e6


def bad_inputs(batch: dict[str, torch.Tensor]) -> list[str]:
    """The keys of the float tensors of ``batch`` holding non-finite or extreme values."""
    bad = []
    for key, value in batch.items():
        if not value.is_floating_point() or value.numel() == 0:
            continue
        finite = torch.isfinite(value)
        values = value[finite]
        if not bool(finite.all()) or (values.numel() and float(values.abs().max()) > EXTREME):
            bad.append(key)
    return bad


def non_finite_reason(kind: str, value: float, step: int, batch: dict[str, torch.Tensor],
                      folders: list[Path]) -> str:
    """``non-finite <kind> loss (<value>) at step <step>`` and its cause: the data of
    ``folders`` (the shards of the batch) when ``batch`` holds bad values, else divergence."""
    head = f"non-finite {kind} loss ({value}) at step {step}"
    bad = bad_inputs(batch)
    if bad:
        where = ", ".join(str(f) for f in folders) or "the training data"
        return (f"{head}: the data is the cause: non-finite or extreme values in "
                f"{', '.join(sorted(bad))} of {where}; check it with `eqscale inspect` and "
                "regenerate or restore it")
    return f"{head}: the inputs were finite, so training diverged; try a lower --lr"


def run_dir_lock(out: Path, is_main: bool) -> Any:
    """The lock of run directory ``out`` while a run works in it (rank 0 only; nothing to lock
    for a finished run, which is only read)."""
    if not is_main or (out / "result.json").is_file():
        return contextlib.nullcontext()
    from eqscale.locks import folder_lock

    return folder_lock(out, "run directory")
