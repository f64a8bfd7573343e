"""The task loss (docs/models.md): vertex error of the predicted frame-(t+1) token meshes."""

from __future__ import annotations

import torch
from torch import Tensor

from eqscale.errors import EqscaleError


def object_errors(pred_verts: Tensor, batch: dict[str, Tensor]) -> Tensor:
    """Each object's mean squared vertex error. pred_verts: (B, K, V, 3) -> (B, K).

    Squared Euclidean distance to ``verts_next`` per real vertex, averaged over the object's real
    vertices (``vert_mask``). Padded vertices and objects contribute exactly zero, even if the
    prediction there is not finite.
    """
    target = batch["verts_next"]
    if pred_verts.shape != target.shape:
        raise EqscaleError(
            f"prediction shape {tuple(pred_verts.shape)} does not match verts_next "
            f"{tuple(target.shape)}"
        )
    vert_mask = batch["vert_mask"]
    sq = ((pred_verts - target.to(pred_verts.dtype)) ** 2).sum(dim=-1)
    sq = torch.where(vert_mask, sq, torch.zeros_like(sq))
    count = vert_mask.sum(dim=-1).clamp_min(1).to(sq.dtype)
    return sq.sum(dim=-1) / count


def task_loss(pred_verts: Tensor, batch: dict[str, Tensor]) -> Tensor:
    """Task loss: per-object mean squared vertex error, averaged over all real objects.

    pred_verts: (B, K, V, 3). Returns a scalar tensor. Every real object of the batch has equal
    weight, whatever its vertex count or its scene's object count.
    """
    per_object = object_errors(pred_verts, batch)
    object_mask = batch["object_mask"]
    n = object_mask.sum()
    if int(n) == 0:
        raise EqscaleError("batch has no real objects (object_mask is all False)")
    return torch.where(object_mask, per_object, torch.zeros_like(per_object)).sum() / n
