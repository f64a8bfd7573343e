"""``torch.compile`` for training: when it is used, where its cache lives, what it cost.

``TrainConfig.compile`` is True, False or None (automatic: compile on CUDA, where inductor's
fused kernels pay off, not on CPU, where the GATr graphs take minutes to compile and ran slower
than eager in our measurements, docs/training.md). Only the training forward and backward are
compiled; validation and evaluation run the same weights eagerly, so their batch shapes never
trigger a recompilation. Training batches always have the same shape (a fixed batch size, every
scene padded to the dataset's object slots and the token mesh's face budget), so a run compiles
once. Inductor's on-disk caches (FX graph and autograd caches) live in ``TORCHINDUCTOR_CACHE_DIR``
(default here: ``~/.cache/eqscale/inductor``), so the runs of a sweep that share a model shape
pay compilation once and later ones load the kernels.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"


def use_compile(setting: bool | None, device: torch.device) -> bool:
    """Whether to compile: the config's choice, or by default only on CUDA."""
    return device.type == "cuda" if setting is None else bool(setting)


def cache_dir() -> Path:
    """Inductor's cache directory, set to ``~/.cache/eqscale/inductor`` unless the environment
    names one (a cluster would point it at a shared file system)."""
    if CACHE_ENV not in os.environ:
        os.environ[CACHE_ENV] = str(Path.home() / ".cache" / "eqscale" / "inductor")
    return Path(os.environ[CACHE_ENV])


def compiled(model: torch.nn.Module) -> torch.nn.Module:
    """``torch.compile(model)`` with the on-disk caches in :func:`cache_dir`."""
    cache_dir()
    import torch._inductor.config as inductor_config

    inductor_config.fx_graph_cache = True
    return torch.compile(model, dynamic=False)


class FirstStepTimer:
    """Wall seconds of the first training step of a process: with compilation, that step
    compiles (or loads compiled kernels from the cache), so it stands for the compile time."""

    def __init__(self) -> None:
        self.seconds: float | None = None
        self._start: float | None = None

    def start(self) -> None:
        if self.seconds is None:
            self._start = time.perf_counter()

    def stop(self) -> None:
        if self.seconds is None and self._start is not None:
            self.seconds = time.perf_counter() - self._start
