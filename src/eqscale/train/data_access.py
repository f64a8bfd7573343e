"""The training engine's view of one dataset split, on top of ``eqscale.data``.

Wraps :class:`eqscale.data.SceneDataset` with what training and evaluation ask of it: batches
of given sample indices on a device, whole trajectories for rollouts, the token-mesh face
budget and the mean object count (for FLOP accounting).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from eqscale.errors import DatasetError


class SplitData:
    """One split of a dataset: ``len()`` samples, one per (trajectory, t), t = 1 .. F - 2."""

    def __init__(self, root: Path, split: str, subset: int | None = None) -> None:
        from eqscale.data import SceneDataset

        self.root = root
        self.split = split
        self.dataset = SceneDataset(root, split, subset=subset)
        self.frames = int(self.dataset.frames)
        self.trajectories = len(self.dataset.trajectories)
        self.faces_per_object = int(self.dataset.faces_per_object)
        mask = self.dataset.arrays.array("mask")[np.asarray(self.dataset.trajectories)]
        self.mean_objects = float(mask.sum(axis=1).mean()) if len(mask) else 0.0
        self.object_slots = int(mask.shape[1])  # K: every batch is padded to this many objects

    def __len__(self) -> int:
        return len(self.dataset)

    def shard_folders(self, indices: list[int]) -> list[Path]:
        """The shard folders holding samples ``indices`` (to name the data behind a failure)."""
        arrays, per = self.dataset.arrays, self.frames - 2
        shards = sorted({arrays.locate(int(self.dataset.trajectories[i // per]))[0]
                         for i in indices})
        entries = arrays.manifest["splits"][self.split]["shards"]
        return [self.root / entries[k]["path"] for k in shards]

    def batch(self, indices: list[int], device: torch.device) -> dict[str, Tensor]:
        """Collated samples ``indices`` on ``device``."""
        from eqscale.data import collate

        batch = collate([self.dataset[i] for i in indices])
        return {k: v.to(device) for k, v in batch.items()}

    def loader(self, batch_sampler: torch.utils.data.Sampler, workers: int,
               pin_memory: bool = False) -> torch.utils.data.DataLoader:
        """Batches in ``batch_sampler``'s order, loaded by ``workers`` processes (0: inline)."""
        from eqscale.data import collate

        return torch.utils.data.DataLoader(self.dataset, batch_sampler=batch_sampler,
                                           num_workers=workers, collate_fn=collate,
                                           pin_memory=pin_memory)

    def trajectory_batch(self, trajectories: list[int], device: torch.device) -> dict[str, Tensor]:
        """Whole trajectories: ``verts`` (B, F, K, V, 3) plus the static batch keys."""
        from eqscale.data import load_trajectories

        absolute = [int(self.dataset.trajectories[i]) for i in trajectories]
        batch = load_trajectories(self.root, self.split, absolute)
        return {k: v.to(device) for k, v in batch.items()}

    @staticmethod
    def faces_from_verts(verts: Tensor, face_index: Tensor) -> Tensor:
        from eqscale.data.tokens import faces_from_verts

        return faces_from_verts(verts, face_index)

    @staticmethod
    def random_proper_motion(batch: dict[str, Tensor], indices: list[int],
                             seed: int) -> dict[str, Tensor]:
        """Move sample ``indices[i]`` of the batch by a uniform random rotation and a Gaussian
        translation drawn from a generator seeded by ``(seed, indices[i])`` (inputs, targets,
        floor and gravity alike; no reflections). Per-sample seeds make the transform of a
        sample independent of how samples are batched."""
        from eqscale.data.augment import apply_e3, random_e3_elements
        from eqscale.train.order import mixed_seed

        draws = [random_e3_elements(1, torch.Generator().manual_seed(mixed_seed(seed, i)),
                                    reflection_prob=0.0) for i in indices]
        rotation = torch.cat([r for r, _ in draws])
        translation = torch.cat([t for _, t in draws])
        return apply_e3(batch, rotation, translation)


def open_split(root: str | Path, split: str, subset: int | None = None,
               verify: bool = True) -> SplitData:
    """Open ``root/split``; missing or corrupt data is a :class:`DatasetError`.

    With ``verify`` (the default) the split's files are first checked against the manifest's
    checksums and for non-finite values (:mod:`eqscale.data.verify`, cached once passed).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset directory {root} does not exist")
    if verify:
        from eqscale.data.verify import verify_dataset

        verify_dataset(root, (split,))
    data = SplitData(root, split, subset)
    if len(data) == 0:
        raise DatasetError(f"split {split!r} of {root} holds no samples")
    return data
