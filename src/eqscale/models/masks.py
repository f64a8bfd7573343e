"""Hierarchical attention masks: object-level and global (docs/models.md).

Tokens are laid out object by object: token ``k * P + p`` is face ``p`` of object slot ``k``.
Object-level blocks run on the reshaped view ``(B * K, P, ...)`` (each object is its own short
sequence, so the attention costs ``K * P^2`` instead of ``(K * P)^2``); global blocks run on
``(B, K * P, ...)``. Masks are boolean, True where a query may attend to a key.

Padding never attends and is never attended: a padded key is masked for every query, and a padded
query sees only itself (a fully masked row would give NaN in softmax; its output is discarded by
the per-object average, which only reads real tokens).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _with_self(mask: Tensor) -> Tensor:
    """Add the diagonal to a ``(N, L, L)`` mask so that no row is empty."""
    eye = torch.eye(mask.shape[-1], dtype=torch.bool, device=mask.device)
    return mask | eye


def object_attention_mask(face_mask: Tensor) -> Tensor:
    """Mask for object-level attention on the object view.

    face_mask: (B, K, P) bool, real tokens. Returns (B * K, P, P): real queries attend to the real
    tokens of their own object.
    """
    b, k, p = face_mask.shape
    real = face_mask.reshape(b * k, p)
    return _with_self(real[:, :, None] & real[:, None, :])


def global_attention_mask(face_mask: Tensor) -> Tensor:
    """Mask for global attention. face_mask: (B, K, P). Returns (B, T, T), T = K * P."""
    b, k, p = face_mask.shape
    real = face_mask.reshape(b, k * p)
    return _with_self(real[:, :, None] & real[:, None, :])


def dense_object_mask(face_mask: Tensor) -> Tensor:
    """Object-level attention as one dense ``(B, T, T)`` mask (same object, both real).

    Equivalent to :func:`object_attention_mask` on the object view; used to check that view and
    by callers that cannot reshape.
    """
    b, k, p = face_mask.shape
    real = face_mask.reshape(b, k * p)
    obj = torch.arange(k, device=face_mask.device).repeat_interleave(p)
    same = obj[:, None] == obj[None, :]
    return _with_self(same & real[:, :, None] & real[:, None, :])


def to_object_view(x: Tensor, objects: int) -> Tensor:
    """(B, K * P, ...) -> (B * K, P, ...): each object becomes its own sequence."""
    b, t = x.shape[:2]
    return x.reshape(b * objects, t // objects, *x.shape[2:])


def to_scene_view(x: Tensor, objects: int) -> Tensor:
    """(B * K, P, ...) -> (B, K * P, ...): the inverse of :func:`to_object_view`."""
    bk, p = x.shape[:2]
    return x.reshape(bk // objects, objects * p, *x.shape[2:])


def block_levels(depth: int) -> tuple[str, ...]:
    """Attention level of each block: object-level first, then alternating with global."""
    return tuple("object" if i % 2 == 0 else "global" for i in range(depth))
