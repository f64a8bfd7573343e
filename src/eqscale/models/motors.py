"""Motors (even versors of G(3,0,1)) as object motions: projection onto the motors, conversion.

GATr's rigidity: every token outputs an even multivector; per object these are averaged and the
average ``m`` is normalised onto the motors (``m reverse(m) = 1``), which is the "project back
onto the rigid group" step done with products of the algebra only, hence equivariantly.
"""

from __future__ import annotations

import torch
from torch import Tensor

from eqscale.ga import (
    GRADES,
    PSEUDOSCALAR,
    embed_point,
    extract_point,
    geometric_product,
    reverse,
    sandwich,
)
from eqscale.models.rigidity import RigidMotion

_EVEN = torch.tensor([g % 2 == 0 for g in GRADES], device="cpu")  # not the ambient device
_PSEUDOSCALAR = PSEUDOSCALAR


def even_part(x: Tensor) -> Tensor:
    """Grades 0, 2 and 4 of ``x (..., 16)`` (an equivariant projection)."""
    return x * _EVEN.to(device=x.device, dtype=x.dtype)


def normalize_motor(m: Tensor, eps: float = 1e-12) -> Tensor:
    """Project an even multivector ``m (..., 16)`` onto the motors.

    ``m reverse(m) = a + b e0123`` with a > 0 (the squared norm of the rotor part). With
    ``A = a^-1/2`` and ``B = -b a^-3/2 / 2`` the element ``m (A + B e0123)`` satisfies
    ``n reverse(n) = A^2 a + (A^2 b + 2 A B a) e0123 = 1``, because e0123 commutes with even
    elements and squares to zero. a and b are invariants of proper motions (b flips sign with the
    pseudoscalar under reflections, as does e0123), so the projection is Pin(3,0,1)-equivariant.
    """
    norm = geometric_product(m, reverse(m))
    a = norm[..., 0].clamp_min(eps)
    b = norm[..., _PSEUDOSCALAR]
    factor = torch.zeros_like(m)
    factor[..., 0] = a.rsqrt()
    factor[..., _PSEUDOSCALAR] = -0.5 * b * a.rsqrt() / a
    return geometric_product(m, factor)


def motor_to_motion(motor: Tensor) -> RigidMotion:
    """Unit motors ``(B, K, 16)`` -> :class:`RigidMotion` (rotation (B, K, 3, 3), translation).

    The motion is affine, so it is fixed by the images of the origin and the three unit points:
    t = M(0) and column i of R = M(e_i) - M(0), each computed with the sandwich product.
    """
    basis = torch.cat([torch.zeros(1, 3), torch.eye(3)]).to(motor)  # (4, 3)
    images = extract_point(sandwich(motor[..., None, :], embed_point(basis)))  # (B, K, 4, 3)
    translation = images[..., 0, :]
    rotation = (images[..., 1:, :] - translation[..., None, :]).transpose(-1, -2)
    return RigidMotion(rotation, translation)
