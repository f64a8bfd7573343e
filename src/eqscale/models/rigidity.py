"""Object rigidity shared by both task models (docs/models.md, Rigidity and the loss).

Every token proposes a rigid motion of its object from frame t to t+1; per object the proposals
are averaged over the object's real tokens and the average is projected back onto the proper
rigid motions. The object's frame-t vertices are then moved by that one motion, so every
predicted object is exactly rigid. This file holds the group-agnostic parts (the result type,
masked averages, the 6-D rotation projection); the motor projection used by GATr lives in
``eqscale.models.motors``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from eqscale.nn.linear import at_least_float32


@dataclass(frozen=True)
class RigidMotion:
    """Each object's proper rigid motion from frame t to t+1: ``x_{t+1} = R x_t + t``.

    rotation: (B, K, 3, 3), det +1. translation: (B, K, 3). Padded objects get the identity.
    """

    rotation: Tensor
    translation: Tensor


@contextlib.contextmanager
def full_precision(device: torch.device) -> Iterator[None]:
    """Autocast off: rigidity runs in float32 or better even inside a bf16 autocast region
    (a bf16 rotation is orthonormal only to ~1e-2, and positions of ~5 m would move by cm)."""
    with torch.autocast(device.type, enabled=False):
        yield


def apply_motion(motion: RigidMotion, points: Tensor) -> Tensor:
    """Move each object's points by its motion. points: (B, K, V, 3) -> (B, K, V, 3).

    Runs outside autocast, in float32 or better, so predicted objects stay rigid under bf16.
    """
    with full_precision(points.device):
        rotation, translation = at_least_float32(motion.rotation), motion.translation
        rotated = torch.einsum("bkij,bkvj->bkvi", rotation, at_least_float32(points).to(rotation))
        return rotated + at_least_float32(translation)[:, :, None, :]


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Average over axis 2 where ``mask`` is True. x: (B, K, P, ...), mask: (B, K, P).

    Returns (B, K, ...); an object with no real entries gets zeros (never NaN).
    """
    m = mask.to(x.dtype).reshape(*mask.shape, *([1] * (x.dim() - 3)))
    total = (torch.where(m > 0, x, torch.zeros_like(x))).sum(dim=2)
    count = m.sum(dim=2).clamp_min(1.0)
    return total / count


def object_centroids(verts: Tensor, vert_mask: Tensor) -> Tensor:
    """Mean of each object's real vertices. verts: (B, K, V, 3), vert_mask: (B, K, V) -> (B, K, 3).

    A centroid is an affine combination of points, so it moves with every E(3) element.
    """
    return masked_mean(verts, vert_mask)


def rotation_from_6d(a: Tensor, eps: float = 1e-8) -> Tensor:
    """Gram-Schmidt projection of a 6-D vector onto SO(3) (Zhou et al. 2019).

    a: (..., 6), the first two columns of a 3x3 matrix. Returns (..., 3, 3) with columns
    b1 = a1/|a1|, b2 = the unit part of a2 orthogonal to b1, b3 = b1 x b2, so det = +1. Unlike an
    SVD projection its gradient stays finite for every input (no division by singular-value gaps).
    """
    a1, a2 = a[..., :3], a[..., 3:]
    b1 = a1 / a1.norm(dim=-1, keepdim=True).clamp_min(eps)
    a2_perp = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = a2_perp / a2_perp.norm(dim=-1, keepdim=True).clamp_min(eps)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


IDENTITY_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@torch.no_grad()
def last_rotation(verts_prev: Tensor, verts_t: Tensor, vert_mask: Tensor) -> Tensor:
    """Each object's rotation from frame t-1 to t, fitted to its vertices (Kabsch).

    verts_prev, verts_t: (B, K, V, 3), vert_mask: (B, K, V) -> (B, K, 3, 3), det +1. With the
    vertex sets centred, ``H = sum a b^T`` and ``H = U S V^T``; the rotation is
    ``V diag(1, 1, det(V U^T)) U^T`` (the last factor keeps it proper when the fit would
    reflect). For a rigid object it is its exact rotation, unique whenever its vertices are not
    collinear. It commutes with every E(3) element g: the sets of g . scene give
    ``Q R Q^T`` for g's linear part Q, reflections included. Objects without three real
    vertices get the identity. Computed in float64 without autograd (an input, not a
    prediction).
    """
    real = vert_mask[..., None]
    a, b = (torch.where(real, x.to(torch.float64), 0.0) for x in (verts_prev, verts_t))
    a, b = (torch.where(real, x - masked_mean(x, vert_mask)[:, :, None], 0.0) for x in (a, b))
    with torch.autocast(verts_t.device.type, enabled=False):
        u, _, vh = torch.linalg.svd(torch.einsum("bkvi,bkvj->bkij", a, b))
        v = vh.transpose(-1, -2)
        det = torch.linalg.det(v @ u.transpose(-1, -2))
        fix = torch.ones_like(u[..., 0])
        fix[..., 2] = torch.where(det < 0, -1.0, 1.0)
        rotation = (v * fix[..., None, :]) @ u.transpose(-1, -2)
    eye = torch.eye(3, dtype=rotation.dtype, device=rotation.device)
    enough = vert_mask.sum(dim=-1) >= 3
    return torch.where(enough[..., None, None], rotation, eye).to(verts_t.dtype)


def motion_about_centroid(rotation: Tensor, centroid: Tensor, displacement: Tensor) -> RigidMotion:
    """The motion that rotates about the frame-t centroid c, then moves c by ``displacement``.

    x -> R (x - c) + c + d, i.e. translation = c + d - R c. rotation: (B, K, 3, 3),
    centroid, displacement: (B, K, 3).
    """
    translation = centroid + displacement - torch.einsum("bkij,bkj->bki", rotation, centroid)
    return RigidMotion(rotation, translation)


def identity_for_padding(motion: RigidMotion, object_mask: Tensor) -> RigidMotion:
    """Replace padded objects' motions by the identity. object_mask: (B, K) bool."""
    eye = torch.eye(3, dtype=motion.rotation.dtype, device=motion.rotation.device)
    real = object_mask[:, :, None]
    rotation = torch.where(real[..., None], motion.rotation, eye.expand_as(motion.rotation))
    translation = torch.where(real, motion.translation, torch.zeros_like(motion.translation))
    return RigidMotion(rotation, translation)
