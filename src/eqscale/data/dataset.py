"""The PyTorch side (docs/interfaces.md, data -> models): samples, batches, whole trajectories.

A sample is (trajectory, t) for t = 1 .. F-2: token-mesh vertices at t-1, t (input) and t+1
(target), with the masks, per-object scalars, floor and gravity of its trajectory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from eqscale.data.format import SplitArrays, read_manifest
from eqscale.data.tokens import TokenMeshes, faces_from_verts, object_statics, posed_vertices
from eqscale.errors import DatasetError

FLOAT_KEYS = ("verts_prev", "verts_t", "verts_next", "faces_prev", "faces_t", "verts",
              "object_scalars", "floor", "gravity")


def _to_tensors(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in arrays.items():
        tensor = torch.from_numpy(np.ascontiguousarray(value))
        out[key] = tensor.float() if key in FLOAT_KEYS else tensor
    return out


def _select(n: int, subset: int | Iterable[int] | None, split: str) -> np.ndarray:
    if subset is None:
        return np.arange(n)
    if isinstance(subset, (int, np.integer)):
        if not 0 < subset <= n:
            raise DatasetError(f"subset {subset} must be in 1..{n} for split {split!r}")
        return np.arange(int(subset))
    indices = np.asarray(list(subset), dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise DatasetError(f"subset indices out of range 0..{n - 1} for split {split!r}")
    return indices


class SceneDataset(torch.utils.data.Dataset):
    """Samples (trajectory, t) of one split; ``subset``: first N trajectories or their indices."""

    def __init__(self, root: str | Path, split: str,
                 subset: int | Iterable[int] | None = None):
        self.root = Path(root)
        self.manifest = read_manifest(self.root)
        self.arrays = SplitArrays(self.root, split, self.manifest)
        self.meshes = TokenMeshes.from_manifest(self.manifest)
        self.frames = int(self.manifest["frames"])
        self.trajectories = _select(len(self.arrays), subset, split)

    @property
    def faces_per_object(self) -> int:
        return self.meshes.faces_per_object

    def __len__(self) -> int:
        return len(self.trajectories) * (self.frames - 2)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        traj, offset = divmod(int(index), self.frames - 2)
        t = offset + 1
        arrays = self.arrays.trajectory(int(self.trajectories[traj]))
        sample = object_statics(self.meshes, arrays)
        local = sample.pop("local")
        verts = posed_vertices(local, arrays["positions"][:, t - 1:t + 2].transpose(1, 0, 2),
                               arrays["quaternions"][:, t - 1:t + 2].transpose(1, 0, 2))
        sample["verts_prev"], sample["verts_t"], sample["verts_next"] = verts
        out = _to_tensors(sample)
        out["faces_prev"] = faces_from_verts(out["verts_prev"], out["face_index"])
        out["faces_t"] = faces_from_verts(out["verts_t"], out["face_index"])
        return out


def collate(samples: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack samples key by key into a batch (every key gains a leading B axis)."""
    if not samples:
        raise ValueError("collate needs at least one sample")
    return {key: torch.stack([s[key] for s in samples]) for key in samples[0]}


def load_trajectories(root: str | Path, split: str,
                      indices: Iterable[int]) -> dict[str, torch.Tensor]:
    """Whole trajectories in token form for autoregressive rollout: ``verts`` (B, F, K, V, 3)
    plus the static batch keys (``vert_mask``, ``face_index``, ``face_mask``, ``object_mask``,
    ``object_scalars``, ``floor``, ``gravity``)."""
    manifest = read_manifest(root)
    arrays = SplitArrays(root, split, manifest)
    meshes = TokenMeshes.from_manifest(manifest)
    items = []
    for i in indices:
        traj = arrays.trajectory(int(i))
        item = object_statics(meshes, traj)
        local = item.pop("local")
        item["verts"] = posed_vertices(local, traj["positions"].transpose(1, 0, 2),
                                       traj["quaternions"].transpose(1, 0, 2))
        items.append(_to_tensors(item))
    if not items:
        raise DatasetError("load_trajectories needs at least one index")
    return collate(items)
