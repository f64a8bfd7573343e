"""The basis of G(3,0,1) and the terms of its products, in plain Python (no torch).

A basis blade is a sorted tuple of generator indices (0 = e0, 1 = e1, ...). The product of two
blades is found by concatenating them, sorting with a sign flip per swap of neighbours, and
contracting equal neighbours with the metric (e0^2 = 0, e1^2 = e2^2 = e3^2 = 1). Everything here
is derived from that definition; :mod:`eqscale.ga.tables` turns it into cached tensors, and the
torch-free cost formulas (:mod:`eqscale.models.sizes`) count product terms from it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

# Basis order (docs/conventions.md): grades contiguous, e0-containing blades first within a grade.
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


def blade(name: str) -> int:
    """The component index of the blade called ``name`` (``"1"``, ``"e0"``, ..., ``"e0123"``)."""
    try:
        return BLADE_NAMES.index(name)
    except ValueError:
        raise ValueError(f"no basis blade {name!r}; the blades are {', '.join(BLADE_NAMES)}") \
            from None


def blade_slice(first: str, last: str) -> slice:
    """The components from blade ``first`` to blade ``last`` inclusive, as one slice."""
    return slice(blade(first), blade(last) + 1)


PSEUDOSCALAR = blade("e0123")
E123 = blade("e123")


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



def _runs(indices: tuple[int, ...]) -> tuple[slice, ...]:
    """Maximal contiguous runs of sorted ``indices`` as slices."""
    runs: list[slice] = []
    for i in indices:
        if runs and runs[-1].stop == i:
            runs[-1] = slice(runs[-1].start, i + 1)
        else:
            runs.append(slice(i, i + 1))
    return tuple(runs)


# The e0-free components as contiguous slices (gathers without an index tensor).
E0_FREE_SLICES: tuple[slice, ...] = _runs(E0_FREE)


def complement(index: int) -> tuple[int, int]:
    """Right complement of a basis blade: ``(sign, index)`` with ``e_A ^ (sign e_Ac) = e0123``."""
    a = BLADES[index]
    rest = tuple(g for g in range(4) if g not in a)
    sign, blade = blade_product(a, rest)
    assert blade == (0, 1, 2, 3)
    return sign, INDEX[rest]




@functools.cache
def terms(name: str) -> tuple[tuple[int, int, int, int], ...]:
    """Non-zero terms ``(i, j, k, sign)`` of product ``name``: ``e_i * e_j += sign e_k``."""
    return tuple(TERMS[name]())
