"""The data layer: shapes, simulator, on-disk format, generation, torch dataset and tokens,
augmentation, inspection and pictures (docs/data.md).

``SceneDataset``, ``collate``, ``load_trajectories`` and ``faces_from_verts`` are re-exported
lazily, so that generation workers never import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "SceneDataset": "eqscale.data.dataset",
    "collate": "eqscale.data.dataset",
    "load_trajectories": "eqscale.data.dataset",
    "faces_from_verts": "eqscale.data.tokens",
    "random_e3": "eqscale.data.augment",
    "apply_e3": "eqscale.data.augment",
    "generate_dataset": "eqscale.data.generate",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'eqscale.data' has no attribute {name!r}")
