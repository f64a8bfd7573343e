"""Products and involutions of G(3,0,1) on tensors ``(..., 16)``.

Bilinear products run on a sparse fast path that touches only the non-zero terms of their
Cayley tables (192 of 4096 for the geometric product, 81 for the outer product). The dense
``(16, 16, 16)`` contractions stay as slow references: :func:`use_dense` switches every product
(and ``eqscale.nn``'s linear maps) to them, so tests can check fast == dense.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch

from eqscale.ga import tables

_DENSE: contextvars.ContextVar[bool] = contextvars.ContextVar("eqscale_ga_dense", default=False)


@contextlib.contextmanager
def use_dense(enabled: bool = True) -> Iterator[None]:
    """Within this context, products and equivariant linear maps use the dense references."""
    token = _DENSE.set(enabled)
    try:
        yield
    finally:
        _DENSE.reset(token)


def dense_enabled() -> bool:
    """Whether the dense slow references are selected (see :func:`use_dense`)."""
    return _DENSE.get()


def _bilinear(name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x, y = torch.broadcast_tensors(x, y)
    if _DENSE.get():
        table = tables.dense_table(name, x.device, x.dtype)
        return torch.einsum("...i,...j,ijk->...k", x, y, table)
    plan = tables.sparse_plan(name, x.device, x.dtype)
    parts = [
        (x[..., left] * y[..., right] * signs).sum(-1)
        for left, right, signs in zip(plan.left, plan.right, plan.signs)
    ]
    return torch.cat(parts, dim=-1)[..., plan.order]


def geometric_product(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Geometric product ``x y`` of multivectors ``(..., 16)`` (broadcasting)."""
    return _bilinear("geometric", x, y)


def outer_product(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Outer (wedge) product ``x ^ y`` of multivectors ``(..., 16)``."""
    return _bilinear("outer", x, y)


def inner_product(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Invariant inner product ``<reverse(x) y>_0``, shape ``(..., 1)``.

    In G(3,0,1) this is the plain dot product over the 8 components without e0 (blades with e0
    square to zero), so it is invariant under Pin(3,0,1) but blind to translations.
    """
    idx = torch.tensor(tables.E0_FREE, device=x.device)
    return (x[..., idx] * y[..., idx]).sum(-1, keepdim=True)


def reverse(x: torch.Tensor) -> torch.Tensor:
    """Reverse (reversion of generator order): grade k gets the sign ``(-1)^(k(k-1)/2)``."""
    return x * tables.component_signs("reverse", x.device, x.dtype)


def grade_involute(x: torch.Tensor) -> torch.Tensor:
    """Grade involution: grade k gets the sign ``(-1)^k``."""
    return x * tables.component_signs("involute", x.device, x.dtype)


def dual(x: torch.Tensor) -> torch.Tensor:
    """Right complement: ``e_A -> s e_Ac`` with ``e_A ^ (s e_Ac) = e0123``; metric-free."""
    perm, signs = tables.dual_map(x.device, x.dtype)
    return x[..., perm] * signs


def undual(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`dual`."""
    perm, signs = tables.undual_map(x.device, x.dtype)
    return x[..., perm] * signs


def regressive_product(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Regressive product (join) ``x v y = undual(dual(x) ^ dual(y))``.

    It commutes with every Pin(3,0,1) element up to the element's determinant sign, which is why
    the equivariant :func:`join` multiplies it by a pseudoscalar of a reference multivector.
    """
    return undual(outer_product(dual(x), dual(y)))


def join(x: torch.Tensor, y: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Equivariant join ``reference_e123 * (x v y)`` (as in GATr).

    ``reference`` ``(..., 16)`` is any multivector that transforms with the data (e.g. the mean
    of the inputs); its e123 component flips sign exactly when the regressive product does
    (under odd elements), so the product is Pin(3,0,1)-equivariant.
    """
    return reference[..., tables.E123 : tables.E123 + 1] * regressive_product(x, y)


def grade_project(x: torch.Tensor, grade: int | None = None) -> torch.Tensor:
    """Grade projection: ``<x>_grade`` as ``(..., 16)``, or all five as ``(..., 5, 16)``."""
    if grade is None:
        mask = torch.zeros(5, 16, dtype=x.dtype, device=x.device)
        for k, sl in enumerate(tables.GRADE_SLICES):
            mask[k, sl] = 1
        return x.unsqueeze(-2) * mask
    if grade not in range(5):
        raise ValueError(f"grade must be 0..4, got {grade}")
    out = torch.zeros_like(x)
    sl = tables.GRADE_SLICES[grade]
    out[..., sl] = x[..., sl]
    return out
