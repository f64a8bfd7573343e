"""Data order as a pure function of (seed, step): what makes kill/resume bit-identical.

The training set is visited epoch by epoch, each epoch in a fresh permutation drawn from a
``torch.Generator`` seeded by ``(seed, epoch)``. Global batch ``step`` takes the samples at
positions ``step * B .. step * B + B - 1`` of the concatenated epochs, and rank ``r`` of ``W``
data-parallel workers takes the ``r``-th contiguous slice of ``B / W`` of them. Nothing here
has state that a checkpoint would need to carry.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from eqscale.errors import EqscaleError

# Large odd constant mixing (seed, epoch) and (seed, step) into one 63-bit generator seed.
_MIX = 0x9E3779B97F4A7C15


def mixed_seed(*parts: int) -> int:
    """A generator seed from integer parts; distinct tuples give (practically) distinct seeds."""
    h = 0
    for p in parts:
        h = ((h ^ (p & 0xFFFFFFFFFFFFFFFF)) * _MIX + 1) & 0x7FFFFFFFFFFFFFFF
    return h


class EpochOrder:
    """Maps a global step to the dataset indices of its (per-rank) batch."""

    def __init__(self, n_samples: int, batch_size: int, seed: int,
                 rank: int = 0, world_size: int = 1) -> None:
        if n_samples < 1:
            raise EqscaleError("the training split holds no samples")
        if batch_size % world_size:
            raise EqscaleError(
                f"batch size {batch_size} is not divisible by the {world_size} data-parallel "
                "processes"
            )
        self.n = n_samples
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self._cache: dict[int, torch.Tensor] = {}

    def permutation(self, epoch: int) -> torch.Tensor:
        """The visiting order of epoch ``epoch`` (a permutation of ``range(n)``)."""
        if epoch not in self._cache:
            if len(self._cache) > 2:
                self._cache.clear()
            gen = torch.Generator().manual_seed(mixed_seed(self.seed, epoch))
            self._cache[epoch] = torch.randperm(self.n, generator=gen)
        return self._cache[epoch]

    def global_batch(self, step: int) -> list[int]:
        """Dataset indices of the whole global batch of ``step``."""
        start = step * self.batch_size
        out = []
        for g in range(start, start + self.batch_size):
            epoch, pos = divmod(g, self.n)
            out.append(int(self.permutation(epoch)[pos]))
        return out

    def local_batch(self, step: int) -> list[int]:
        """This rank's contiguous slice of the global batch of ``step``."""
        per_rank = self.batch_size // self.world_size
        full = self.global_batch(step)
        return full[self.rank * per_rank:(self.rank + 1) * per_rank]

    def epoch_of(self, step: int) -> float:
        """Epochs completed after ``step`` steps (fractional)."""
        return step * self.batch_size / self.n


class StepBatches(torch.utils.data.Sampler):
    """This rank's batch indices for steps ``start .. stop - 1``: a ``DataLoader`` batch sampler,
    so loading can run ahead in worker processes without changing the order."""

    def __init__(self, order: EpochOrder, start: int, stop: int) -> None:
        self.order, self.start, self.stop = order, start, stop

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.stop):
            yield self.order.local_batch(step)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)
