"""Embeddings of Euclidean objects into G(3,0,1), and the group action on multivectors.

Conventions (see docs/conventions.md, all checked by tests):
- point (x, y, z): trivector with e123 = 1, e023 = -x, e013 = y, e012 = -z;
- plane n.x = d: vector n1 e1 + n2 e2 + n3 e3 - d e0;
- translation by t: motor 1 - (t1 e01 + t2 e02 + t3 e03) / 2;
- rotation by the unit quaternion q = (w, x, y, z): rotor w - z e12 + y e13 - x e23;
- reflection in a plane: the unit plane vector itself (an odd versor);
- action: ``sandwich(u, x) = u x u^-1`` for even u and ``u grade_involute(x) u^-1`` for odd u.
"""

from __future__ import annotations

import torch

from eqscale.ga import tables
from eqscale.ga.basis import blade, blade_slice
from eqscale.ga.products import geometric_product, grade_involute, reverse

_E012, _E013, _E023, _E123 = (blade(n) for n in ("e012", "e013", "e023", "e123"))
_E0, _NORMAL = blade("e0"), blade_slice("e1", "e3")  # plane: offset and normal
_TRANSLATION = blade_slice("e01", "e03")
_E12, _E13, _E23 = (blade(n) for n in ("e12", "e13", "e23"))


def _check_last(t: torch.Tensor, size: int, what: str) -> None:
    if t.shape[-1] != size:
        raise ValueError(f"{what} must have last dimension {size}, got shape {tuple(t.shape)}")


def embed_point(p: torch.Tensor) -> torch.Tensor:
    """Points ``(..., 3)`` -> trivectors ``(..., 16)``."""
    _check_last(p, 3, "points")
    mv = p.new_zeros(*p.shape[:-1], 16)
    mv[..., _E123] = 1.0
    mv[..., _E023] = -p[..., 0]
    mv[..., _E013] = p[..., 1]
    mv[..., _E012] = -p[..., 2]
    return mv


def extract_point(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Trivector part of ``(..., 16)`` -> Euclidean points ``(..., 3)``.

    Divides by the homogeneous coordinate e123 (whose magnitude is clamped to ``eps``), so the
    result is right for points of either orientation (reflections flip e123's sign).
    """
    _check_last(x, 16, "multivectors")
    w = x[..., _E123]
    w = torch.where(w.abs() < eps, torch.full_like(w, eps) * torch.where(w < 0, -1.0, 1.0), w)
    coords = torch.stack([-x[..., _E023], x[..., _E013], -x[..., _E012]], dim=-1)
    return coords / w.unsqueeze(-1)


def embed_plane(normal: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Planes ``n.x = d``: normals ``(..., 3)``, offsets ``(...)`` -> vectors ``(..., 16)``."""
    _check_last(normal, 3, "normals")
    normal, offset = torch.broadcast_tensors(normal, offset.unsqueeze(-1))
    mv = normal.new_zeros(*normal.shape[:-1], 16)
    mv[..., _E0] = -offset[..., 0]
    mv[..., _NORMAL] = normal
    return mv


def embed_translation(t: torch.Tensor) -> torch.Tensor:
    """Translations ``(..., 3)`` -> motors ``(..., 16)`` (even versors)."""
    _check_last(t, 3, "translations")
    mv = t.new_zeros(*t.shape[:-1], 16)
    mv[..., 0] = 1.0  # the scalar
    mv[..., _TRANSLATION] = -0.5 * t
    return mv


def embed_rotation(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``(..., 4)`` as (w, x, y, z) -> rotors ``(..., 16)``."""
    _check_last(q, 4, "quaternions")
    mv = q.new_zeros(*q.shape[:-1], 16)
    mv[..., 0] = q[..., 0]  # the scalar
    mv[..., _E12] = -q[..., 3]
    mv[..., _E13] = q[..., 2]
    mv[..., _E23] = -q[..., 1]
    return mv


def embed_reflection(normal: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Reflections in the planes ``n.x = d`` -> unit odd versors ``(..., 16)``."""
    norm = normal.norm(dim=-1)
    return embed_plane(normal / norm.unsqueeze(-1), offset / norm)


def versor_parity(u: torch.Tensor) -> torch.Tensor:
    """``(...)`` bool: True where the versor ``(..., 16)`` is odd (its odd part dominates)."""
    odd = torch.tensor([g % 2 == 1 for g in tables.GRADES], device=u.device)
    return u[..., odd].square().sum(-1) > u[..., ~odd].square().sum(-1)


def inverse_versor(u: torch.Tensor) -> torch.Tensor:
    """``u^-1 = reverse(u) / <u reverse(u)>_0``, valid for versors (their norm is a scalar)."""
    rev = reverse(u)
    return rev / geometric_product(u, rev)[..., :1]


def sandwich(versor: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Pin(3,0,1) action on multivectors: ``u x u^-1``, or ``u grade_involute(x) u^-1`` for odd u.

    The parity sign makes the action an algebra automorphism for odd versors too, so every
    product of the algebra commutes with it (the join up to the determinant sign).
    """
    odd = versor_parity(versor).unsqueeze(-1)
    x = torch.where(odd, grade_involute(x), x)
    return geometric_product(geometric_product(versor, x), inverse_versor(versor))
