"""What both task models read from a batch (docs/interfaces.md, data -> models).

Checks the batch, zeroes padded entries (so garbage in padding can never reach a real output or a
gradient) and computes the per-object quantities both models share: frame-t centroids, the
centroid displacement and the rotation from t-1 to t (together the rigid constant-velocity prior
of both heads) and the invariant per-object scalars.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from eqscale.errors import EqscaleError
from eqscale.models.rigidity import last_rotation, object_centroids

REQUIRED_KEYS = (
    "verts_prev", "verts_t", "vert_mask", "faces_prev", "faces_t", "face_mask", "object_mask",
    "object_scalars", "floor", "gravity",
)


@dataclass(frozen=True)
class SceneInputs:
    """Sanitised model inputs. B batch, K objects, P faces per object.

    faces_prev, faces_t: (B, K, P, 3, 3) face vertices (zero where padded);
    face_mask: (B, K, P); object_mask: (B, K); centroid, displacement: (B, K, 3);
    last_rotation: (B, K, 3, 3), each object's rotation from t-1 to t (identity for padding);
    scalars: (B, K, 4) = log mass, friction, restitution, scale (zero where padded);
    floor: (B, 4); gravity: (B, 3).
    """

    faces_prev: Tensor
    faces_t: Tensor
    face_mask: Tensor
    object_mask: Tensor
    centroid: Tensor
    displacement: Tensor
    last_rotation: Tensor
    scalars: Tensor
    floor: Tensor
    gravity: Tensor


def read_batch(batch: dict[str, Tensor], faces_per_object: int, dtype: torch.dtype) -> SceneInputs:
    """Validate a collated batch and return :class:`SceneInputs` in ``dtype``."""
    missing = [key for key in REQUIRED_KEYS if key not in batch]
    if missing:
        raise EqscaleError(f"batch is missing keys: {', '.join(missing)}")
    face_mask = batch["face_mask"].bool()
    if face_mask.dim() != 3 or face_mask.shape[-1] != faces_per_object:
        raise EqscaleError(
            f"face_mask has shape {tuple(face_mask.shape)}; the model expects (B, K, "
            f"{faces_per_object}) (faces_per_object of the model)"
        )
    # An object slot without a real face has no token to predict its motion: treat it as padding.
    object_mask = batch["object_mask"].bool() & face_mask.any(dim=-1)
    face_mask = face_mask & object_mask[:, :, None]
    vert_mask = batch["vert_mask"].bool() & object_mask[:, :, None]
    fm = face_mask[..., None, None]
    faces_prev = torch.where(fm, batch["faces_prev"].to(dtype), 0.0)
    faces_t = torch.where(fm, batch["faces_t"].to(dtype), 0.0)
    centroid = object_centroids(batch["verts_t"].to(dtype), vert_mask)
    displacement = centroid - object_centroids(batch["verts_prev"].to(dtype), vert_mask)
    raw = batch["object_scalars"].to(dtype)
    mass = raw[..., :1].clamp_min(1e-6)
    scalars = torch.cat([torch.log(mass), raw[..., 1:]], dim=-1)
    scalars = torch.where(object_mask[..., None], scalars, 0.0)
    return SceneInputs(
        faces_prev=faces_prev,
        faces_t=faces_t,
        face_mask=face_mask,
        object_mask=object_mask,
        centroid=centroid,
        displacement=displacement,
        last_rotation=last_rotation(batch["verts_prev"].to(dtype), batch["verts_t"].to(dtype),
                                    vert_mask),
        scalars=scalars,
        floor=batch["floor"].to(dtype),
        gravity=batch["gravity"].to(dtype),
    )
