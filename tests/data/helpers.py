"""Shared helpers for the data tests: a shape set and a PyBullet client per session."""

from __future__ import annotations

import numpy as np

from eqscale.data.simulate import quaternion_to_matrix


def lowest_collision_height(shapes, traj: dict) -> np.ndarray:
    """(K, F) height above the floor of each object's lowest collision-geometry vertex."""
    K, F = traj["mask"].shape[0], traj["positions"].shape[1]
    out = np.full((K, F), np.inf)
    n, d = traj["floor"][:3].astype(np.float64), float(traj["floor"][3])
    for k in np.flatnonzero(traj["mask"]):
        local = shapes.shapes[traj["shape_id"][k]].collision_vertices * float(traj["scale"][k])
        R = quaternion_to_matrix(traj["quaternions"][k])  # (F, 3, 3)
        world = np.einsum("fij,vj->fvi", R, local) + traj["positions"][k][:, None, :]
        out[k] = (world @ n).min(axis=1) - d
    return out
