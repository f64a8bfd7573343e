"""The basis of G(3,0,1) and its multiplication tables, derived from the algebra's definition.

A basis blade is a sorted tuple of generator indices (0 = e0, 1 = e1, ...). The product of two
blades is found by concatenating them, sorting with a sign flip per swap of neighbours, and
contracting equal neighbours with the metric (e0^2 = 0, e1^2 = e2^2 = e3^2 = 1). Tables are built
once in Python, then cached per device and dtype as tensors.

Every table has two forms:
- dense: a ``(16, 16, 16)`` tensor ``T[i, j, k]`` with ``e_i * e_j = sum_k T[i, j, k] e_k``;
- sparse: only the non-zero terms ``(i, j, k, sign)``, grouped by output blade so that each
  group has the same number of terms and one gather + sum evaluates it (see ``SparsePlan``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch

# SPEC 4 basis order: grades are contiguous, e0-containing blades come first within a grade.
BLADES: tuple[tuple[int, ...], ...] = (
    (),
    (0,), (1,), (2,), (3,),
    (0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3),
    (0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3),
    (0, 1, 2, 3),
)
BLADE_NAMES: tuple[str, ...] = tuple(
    "1" if not b else "e" + "".join(str(i) for i in b) for b in BLADES
)
METRIC: tuple[int, ...] = (0, 1, 1, 1)
GRADES: tuple[int, ...] = tuple(len(b) for b in BLADES)
# Slices of the 16 components holding each grade 0..4.
GRADE_SLICES: tuple[slice, ...] = (slice(0, 1), slice(1, 5), slice(5, 11), slice(11, 15),
                                   slice(15, 16))
INDEX: dict[tuple[int, ...], int] = {b: i for i, b in enumerate(BLADES)}
E0_FREE: tuple[int, ...] = tuple(i for i, b in enumerate(BLADES) if 0 not in b)
PSEUDOSCALAR = 15
E123 = 14


def blade_product(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """Geometric product of two basis blades: ``(sign, blade)``, sign 0 when it vanishes."""
    seq = list(a) + list(b)
    sign = 1
    for end in range(len(seq) - 1, 0, -1):  # bubble sort, one sign flip per swap
        for j in range(end):
            if seq[j] > seq[j + 1]:
                seq[j], seq[j + 1] = seq[j + 1], seq[j]
                sign = -sign
    out: list[int] = []
    for g in seq:  # equal generators are now neighbours: contract them with the metric
        if out and out[-1] == g:
            out.pop()
            sign *= METRIC[g]
        else:
            out.append(g)
    return sign, tuple(out)


def _geometric_terms() -> list[tuple[int, int, int, int]]:
    terms = []
    for i, a in enumerate(BLADES):
        for j, b in enumerate(BLADES):
            sign, blade = blade_product(a, b)
            if sign:
                terms.append((i, j, INDEX[blade], sign))
    return terms


def _outer_terms() -> list[tuple[int, int, int, int]]:
    """Wedge product: the geometric product of blades with no common generator."""
    return [t for t in _geometric_terms() if not set(BLADES[t[0]]) & set(BLADES[t[1]])]


def _regressive_terms() -> list[tuple[int, int, int, int]]:
    """Regressive product ``undual(dual(x) ^ dual(y))`` written out term by term.

    With ``complement(a) = (sign_a, c_a)``: ``dual(x)[c_a] = sign_a x[a]`` and
    ``undual(w)[a] = sign_a w[c_a]``.
    """
    comp = [complement(a) for a in range(16)]
    source = {c: (sign, a) for a, (sign, c) in enumerate(comp)}  # dual index -> (sign, a)
    terms = []
    for i, j, k, sign in _outer_terms():
        (si, xi), (sj, yj), (sk, out) = source[i], source[j], source[k]
        terms.append((xi, yj, out, sign * si * sj * sk))
    return terms


TERMS: dict[str, Callable[[], list[tuple[int, int, int, int]]]] = {
    "geometric": _geometric_terms,
    "outer": _outer_terms,
    "regressive": _regressive_terms,
}


@functools.cache
def _python_terms(name: str) -> tuple[tuple[int, int, int, int], ...]:
    return tuple(TERMS[name]())


@functools.cache
def dense_table(name: str, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(16, 16, 16)`` table of a bilinear product, cached per device and dtype."""
    table = torch.zeros(16, 16, 16, dtype=torch.float64)
    for i, j, k, sign in _python_terms(name):
        table[i, j, k] = sign
    return table.to(device=device, dtype=dtype)


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
    terms = _python_terms(name)
    return (
        _plan(terms, device, dtype),
        _plan(tuple((k, j, i, s) for i, j, k, s in terms), device, dtype),
        _plan(tuple((i, k, j, s) for i, j, k, s in terms), device, dtype),
    )


@functools.cache
def e0_free_index(device: torch.device) -> torch.Tensor:
    """``(8,)`` indices of the blades without e0 (the non-degenerate ones)."""
    return torch.tensor(E0_FREE, device=device)


@functools.cache
def e0_free_mask(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(16,)``: 1 on the blades without e0, 0 on the others."""
    return torch.tensor([0.0 if 0 in b else 1.0 for b in BLADES], device=device, dtype=dtype)


E0_FREE_SLICES: tuple[slice, ...] = (slice(0, 1), slice(2, 5), slice(8, 11), slice(14, 15))


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


def complement(index: int) -> tuple[int, int]:
    """Right complement of a basis blade: ``(sign, index)`` with ``e_A ^ (sign e_Ac) = e0123``."""
    a = BLADES[index]
    rest = tuple(g for g in range(4) if g not in a)
    sign, blade = blade_product(a, rest)
    assert blade == (0, 1, 2, 3)
    return sign, INDEX[rest]


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
