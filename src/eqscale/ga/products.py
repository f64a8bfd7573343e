"""Products and involutions of G(3,0,1) on tensors ``(..., 16)``.

Bilinear products have two fast paths, chosen by the operands' size: a sparse path that touches
only the non-zero terms of their Cayley tables (192 of 4096 for the geometric product, 81 for
the outer and regressive products) in the forward and the backward pass (a custom autograd
function), and for small operands (at most :data:`TABLE_PATH_MAX` multivectors) one matrix
product of the ``(16, 256)`` table with the operands' outer product, which does more arithmetic
in fewer operations (the crossover is measured in docs/ga.md). The dense ``(16, 16, 16)``
contractions stay as slow references: :func:`use_dense` switches every product (and
``eqscale.nn``'s linear maps) to them, so tests can check fast == dense.
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


def _evaluate(plan: tables.SparsePlan, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Sparse bilinear map on component-major operands ``(16, N, C)`` (any strides) ->
    contiguous ``(16, N, C)``.

    Runs over chunks of N holding about 2 MB of gathered terms, so the intermediates stay in
    cache (on CPU several times faster than one pass over everything).
    """
    out = u.new_empty(u.shape)
    row_bytes = plan.n_terms * u.shape[2] * u.element_size()
    chunk = max(1, _CHUNK_BYTES // row_bytes) if u.device.type == "cpu" else u.shape[1]
    for start in range(0, u.shape[1], chunk):
        uc, vc = u[:, start : start + chunk], v[:, start : start + chunk]
        oc = out[:, start : start + chunk]
        for left, right, signs, outputs in zip(plan.left, plan.right, plan.signs,
                                               plan.outputs):
            prod = uc.index_select(0, left) * vc.index_select(0, right)  # (n m, chunk, C)
            n, _, m = signs.shape
            summed = torch.bmm(signs, prod.view(n, m, -1))  # signed sums (n, 1, chunk C)
            oc.index_copy_(0, outputs, summed.view(n, *oc.shape[1:]))
    return out


_CHUNK_BYTES = 1 << 21


class _SparseBilinear(torch.autograd.Function):
    """A bilinear product on component-major ``(16, M)`` operands touching only its table's
    non-zero terms, forward and backward.

    Both gradients are themselves sparse bilinear maps (of the output gradient with the other
    operand), so the backward pass needs no scatter of gathered terms.
    """

    @staticmethod
    def forward(ctx, name: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        plans = tables.sparse_plans(name, u.device, u.dtype)
        ctx.save_for_backward(u, v)
        ctx.plans = plans
        with torch.autocast(u.device.type, enabled=False):  # keep the operands' dtype
            return _evaluate(plans[0], u, v)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor | None, torch.Tensor | None]:
        u, v = ctx.saved_tensors
        grad = grad.to(u.dtype)
        with torch.autocast(u.device.type, enabled=False):
            grad_u = _evaluate(ctx.plans[1], grad, v) if ctx.needs_input_grad[1] else None
            grad_v = _evaluate(ctx.plans[2], u, grad) if ctx.needs_input_grad[2] else None
        return None, grad_u, grad_v


# Up to this many multivectors per operand the table path is faster (on CPU, one thread:
# 0.3-0.5x the sparse path's time at 80, 0.8-0.9x at 1,024, even near 1,500-2,000, 2-3x slower
# at 5,120; benchmarks/bench_paths.py, docs/ga.md)
TABLE_PATH_MAX = 1024


def sparse_bilinear(name: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Sparse path of product ``name`` on component-major ``(16, N, C)`` operands (any strides)
    -> contiguous ``(16, N, C)``, in the operands' dtype (autocast does not apply)."""
    return _SparseBilinear.apply(name, u, v)


def table_bilinear(name: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Table path of product ``name``: ``(16, 256)`` table x outer product ``(256, N C)`` of
    component-major ``(16, N, C)`` operands -> ``(16, N, C)``; plain autograd, the operands'
    dtype (autocast does not apply)."""
    table = tables.table_matrix(name, u.device, u.dtype)
    m = u[0].numel()
    with torch.autocast(u.device.type, enabled=False):
        outer = (u.reshape(16, 1, m) * v.reshape(1, 16, m)).reshape(256, m)
        return (table @ outer).view(u.shape)


def bilinear_component_major(name: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Fast path of product ``name`` ("geometric", "outer", "regressive") on component-major
    operands ``(16, ..., C)`` of equal shape (strided views, e.g. channel slices, are fine)
    -> contiguous ``(16, ..., C)``: the table path for small operands, else the sparse path."""
    if u.shape != v.shape or u.shape[0] != 16:
        raise ValueError(f"expected two (16, ...) operands, got {tuple(u.shape)}, "
                         f"{tuple(v.shape)}")
    shape = u.shape
    dtype = torch.promote_types(u.dtype, v.dtype)
    u, v = (t.to(dtype).reshape(16, -1, shape[-1] if len(shape) > 1 else 1) for t in (u, v))
    path = table_bilinear if u[0].numel() <= TABLE_PATH_MAX else sparse_bilinear
    return path(name, u, v).view(shape)


def _bilinear(name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x, y = torch.broadcast_tensors(x, y)
    if _DENSE.get():
        table = tables.dense_table(name, x.device, x.dtype)
        return torch.einsum("...i,...j,ijk->...k", x, y, table)
    # 2-D transposes to and from the component-major layout (torch copies them blockwise)
    u, v = (t.reshape(-1, 16).t().contiguous().unsqueeze(-1) for t in (x, y))
    return bilinear_component_major(name, u, v).view(16, -1).t().reshape(x.shape)


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
    idx = tables.e0_free_index(x.device)
    return (x.index_select(-1, idx) * y.index_select(-1, idx)).sum(-1, keepdim=True)


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
    if _DENSE.get():
        return undual(outer_product(dual(x), dual(y)))
    return _bilinear("regressive", x, y)


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
