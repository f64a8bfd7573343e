"""A dataset's disk footprint, from the format (:data:`eqscale.data.format.ARRAYS`): used to
refuse a generation that cannot fit and by ``eqscale generate --dry-run``."""

from __future__ import annotations

import numpy as np

from eqscale.data import format as fmt

SHARD_OVERHEAD = 4096  # bytes per shard beyond its arrays: .npy headers, shard.json, manifest


def trajectory_bytes() -> int:
    """Bytes of one trajectory's arrays on disk (headers aside)."""
    return sum(int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
               for dtype, shape in fmt.ARRAYS.values())


def dataset_bytes(trajectories: int, shards: int) -> int:
    """About the disk size of ``trajectories`` stored in ``shards`` shards."""
    return trajectories * trajectory_bytes() + shards * SHARD_OVERHEAD
