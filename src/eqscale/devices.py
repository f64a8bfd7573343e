"""The one device resolver: a ``--device`` string (or none) to a ``torch.device``.

Every command that runs torch code (train, evaluate, the benchmarks) resolves its device here,
so they agree on the default (CUDA when present, else the CPU) and on the errors.
"""

from __future__ import annotations

import torch

from eqscale.errors import EqscaleError


def resolve_device(requested: str | None = None, local_rank: int = 0) -> torch.device:
    """``requested`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...) or, when None, ``cuda`` if
    available else ``cpu``. A bare ``cuda`` becomes one GPU per local rank (``local_rank``
    modulo the GPU count). Unknown or unavailable devices are one-line errors."""
    name = requested or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise EqscaleError(f"unknown device {name!r}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise EqscaleError(f"device {name!r} requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device
