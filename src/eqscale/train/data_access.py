"""The training engine's view of one dataset split (SPEC 2), on top of ``eqscale.data``.

Wraps :class:`eqscale.data.SceneDataset` with what training and evaluation ask of it: batches
of given sample indices on a device, the trajectory/time layout for rollouts, the token-mesh
face budget and the mean object count (for FLOP accounting).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from eqscale.errors import DatasetError


class SplitData:
    """One split of a dataset: ``len()`` samples, one per (trajectory, t), t = 1 .. F - 2."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.frames = int(dataset.frames)
        self.trajectories = int(dataset.num_trajectories)
        self.faces_per_object = int(dataset.faces_per_object)
        self.mean_objects = float(dataset.mean_objects)

    def __len__(self) -> int:
        return len(self.dataset)

    def sample_index(self, trajectory: int, t: int) -> int:
        """Index of the sample of ``trajectory`` that sees frames t - 1, t and predicts t + 1."""
        return trajectory * (self.frames - 2) + (t - 1)

    def batch(self, indices: list[int], device: torch.device) -> dict[str, Tensor]:
        """Collated samples ``indices`` on ``device``."""
        from eqscale.data import collate

        batch = collate([self.dataset[i] for i in indices])
        return {k: v.to(device, non_blocking=True) for k, v in batch.items()}

    @staticmethod
    def faces_from_verts(verts: Tensor, face_index: Tensor) -> Tensor:
        from eqscale.data.tokens import faces_from_verts

        return faces_from_verts(verts, face_index)

    @staticmethod
    def random_proper_motion(batch: dict[str, Tensor], gen: torch.Generator) -> dict[str, Tensor]:
        """Move each sample by a random rotation and translation (inputs, targets, floor,
        gravity alike)."""
        from eqscale.data.augment import random_e3

        return random_e3(batch, gen, reflections=False)


def open_split(root: str | Path, split: str, subset: int | None = None) -> SplitData:
    """Open ``root/split``; missing or corrupt data is a :class:`DatasetError`."""
    from eqscale.data import SceneDataset

    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset directory {root} does not exist")
    data = SplitData(SceneDataset(root, split, subset=subset))
    if len(data) == 0:
        raise DatasetError(f"split {split!r} of {root} holds no samples")
    return data
