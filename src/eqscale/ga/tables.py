"""The multiplication tables of G(3,0,1) as tensors, cached per device and dtype.

The basis and the terms of every product come from :mod:`eqscale.ga.basis` (plain Python,
derived from the algebra's definition); its names are re-exported here.

Every table has two forms:
- dense: a ``(16, 16, 16)`` tensor ``T[i, j, k]`` with ``e_i * e_j = sum_k T[i, j, k] e_k``;
- sparse: only the non-zero terms ``(i, j, k, sign)``, grouped by output blade so that each
  group has the same number of terms and one gather + sum evaluates it (see ``SparsePlan``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from eqscale.ga.basis import (  # noqa: F401  (re-exported: the basis is part of this API)
    BLADE_NAMES,
    BLADES,
    E0_FREE,
    E0_FREE_SLICES,
    E123,
    GRADE_SLICES,
    GRADES,
    INDEX,
    METRIC,
    PSEUDOSCALAR,
    TERMS,
    blade_product,
    complement,
    terms,
)


@functools.cache
def dense_table(name: str, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(16, 16, 16)`` table of a bilinear product, cached per device and dtype."""
    table = torch.zeros(16, 16, 16, dtype=torch.float64)
    for i, j, k, sign in terms(name):
        table[i, j, k] = sign
    return table.to(device=device, dtype=dtype)


@functools.cache
def table_matrix(name: str, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(16, 256)``: the table as a matrix, ``[k, 16 i + j]`` the sign of ``e_i e_j -> e_k``."""
    return dense_table(name, device, dtype).permute(2, 0, 1).reshape(16, 256).contiguous()


@dataclass(frozen=True)
class SparsePlan:
    """The non-zero terms ``out[c] += s u[a] v[b]`` of a bilinear map, grouped for evaluation on
    component-major operands ``(16, N, C)``.

    Output blades with equal term counts m form a group of n blades: ``left``/``right`` are the
    ``(n m,)`` component indices of u and v, ``signs`` is ``(n, 1, m)`` and ``outputs`` the
    group's ``(n,)`` output blades; a gather, a product and a batched signed sum give them.
    """

    left: tuple[torch.Tensor, ...]
    right: tuple[torch.Tensor, ...]
    signs: tuple[torch.Tensor, ...]
    outputs: tuple[torch.Tensor, ...]
    n_terms: int


def _plan(terms: tuple[tuple[int, int, int, int], ...], device: torch.device,
          dtype: torch.dtype) -> SparsePlan:
    by_out: dict[int, list[tuple[int, int, int]]] = {c: [] for c in range(16)}
    for a, b, c, sign in terms:
        by_out[c].append((a, b, sign))
    for group_terms in by_out.values():
        if not group_terms:  # an output without terms: one zero term keeps the layout uniform
            group_terms.append((0, 0, 0))
    groups: dict[int, list[int]] = {}
    for c, group_terms in by_out.items():
        groups.setdefault(len(group_terms), []).append(c)
    left, right, signs, outputs = [], [], [], []
    for _, cs in sorted(groups.items()):
        left.append(torch.tensor([t[0] for c in cs for t in by_out[c]], device=device))
        right.append(torch.tensor([t[1] for c in cs for t in by_out[c]], device=device))
        sign_rows = [[t[2] for t in by_out[c]] for c in cs]
        signs.append(torch.tensor(sign_rows, device=device, dtype=dtype).unsqueeze(1))
        outputs.append(torch.tensor(cs, device=device))
    return SparsePlan(tuple(left), tuple(right), tuple(signs), tuple(outputs), len(terms))


@functools.cache
def sparse_plans(
    name: str, device: torch.device, dtype: torch.dtype
) -> tuple[SparsePlan, SparsePlan, SparsePlan]:
    """Plans of a product ``out = x * y`` and of its two gradients, cached per device and dtype:
    ``grad_x[i] += s g[k] y[j]`` and ``grad_y[j] += s x[i] g[k]`` for every term (i, j, k, s)."""
    forward = terms(name)
    return (
        _plan(forward, device, dtype),
        _plan(tuple((k, j, i, s) for i, j, k, s in forward), device, dtype),
        _plan(tuple((i, k, j, s) for i, j, k, s in forward), device, dtype),
    )


@functools.cache
def e0_free_index(device: torch.device) -> torch.Tensor:
    """``(8,)`` indices of the blades without e0 (the non-degenerate ones)."""
    return torch.tensor(E0_FREE, device=device)


@functools.cache
def e0_free_mask(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(16,)``: 1 on the blades without e0, 0 on the others."""
    return torch.tensor([0.0 if 0 in b else 1.0 for b in BLADES], device=device, dtype=dtype)




@functools.cache
def component_signs(kind: str, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Per-component ``(16,)`` signs of the grade involutions: reverse, involute, conjugate."""
    if kind == "reverse":
        values = [(-1) ** (g * (g - 1) // 2) for g in GRADES]
    elif kind == "involute":
        values = [(-1) ** g for g in GRADES]
    elif kind == "conjugate":
        values = [(-1) ** (g * (g + 1) // 2) for g in GRADES]
    else:
        raise ValueError(f"unknown involution {kind!r}")
    return torch.tensor(values, device=device, dtype=dtype)


@functools.cache
def dual_map(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``(perm, signs)`` with ``dual(x) = x[..., perm] * signs`` (the right complement)."""
    perm = [0] * 16
    signs = [0] * 16
    for a in range(16):
        sign, c = complement(a)
        perm[c] = a
        signs[c] = sign
    return torch.tensor(perm, device=device), torch.tensor(signs, device=device, dtype=dtype)


@functools.cache
def undual_map(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``(perm, signs)`` inverting :func:`dual_map`: ``undual(dual(x)) = x``.

    The inverse permutation; each sign travels with its component (signs are +-1).
    """
    perm, signs = dual_map(device, dtype)
    inverse = torch.argsort(perm)
    return inverse, signs[inverse]
