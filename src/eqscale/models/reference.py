"""Reference predictors: what a model must beat to have learned any physics.

All extrapolate each object's token mesh from frames t-1 and t, without parameters:

- ``constant_velocity``: ``x(t+1) = 2 x(t) - x(t-1)``, every vertex keeps its last motion (free
  flight without gravity, spin about a fixed axis to first order);
- ``rigid_constant_velocity``: every object repeats its last rigid motion, its centroid's
  displacement and its rotation about the centroid (exact free flight without gravity, for a
  spin about a fixed axis); this is what both task models predict when their heads output
  zero, so it tells what their networks learned on top;
- ``no_motion``: ``x(t+1) = x(t)``, nothing moves.

They are scored with the task loss on exactly the samples a model is scored on, so that
``skill = 1 - L / L_cv`` says what fraction of the constant-velocity error a model removes
(0: no better than extrapolating, 1: perfect, negative: worse than extrapolating).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor


def constant_velocity(batch: dict[str, Tensor]) -> Tensor:
    """``2 verts_t - verts_prev``: (B, K, V, 3)."""
    return 2.0 * batch["verts_t"] - batch["verts_prev"]


def rigid_constant_velocity(batch: dict[str, Tensor]) -> Tensor:
    """Each object's last rigid motion applied again: (B, K, V, 3)."""
    from eqscale.models.rigidity import (
        apply_motion,
        last_rotation,
        motion_about_centroid,
        object_centroids,
    )

    mask = batch["vert_mask"].bool() & batch["object_mask"].bool()[..., None]
    prev, now = batch["verts_prev"], batch["verts_t"]
    centroid = object_centroids(now, mask)
    displacement = centroid - object_centroids(prev, mask)
    motion = motion_about_centroid(last_rotation(prev, now, mask), centroid, displacement)
    return apply_motion(motion, now).to(now.dtype)


def no_motion(batch: dict[str, Tensor]) -> Tensor:
    """``verts_t``: (B, K, V, 3)."""
    return batch["verts_t"]


REFERENCES: dict[str, Callable[[dict[str, Tensor]], Tensor]] = {
    "constant_velocity": constant_velocity,
    "rigid_constant_velocity": rigid_constant_velocity,
    "no_motion": no_motion,
}
"""Reference predictors by the name their loss carries in results (``<name>_loss``)."""


def skill(loss: float | None, cv_loss: float | None) -> float | None:
    """``1 - loss / cv_loss``, or None when either is missing or ``cv_loss`` is not positive."""
    if loss is None or cv_loss is None or not cv_loss > 0:
        return None
    return 1.0 - loss / cv_loss
