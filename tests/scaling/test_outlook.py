"""The conclusion's outlook: which IsoFLOP minima and exponents a study identifies, and the
budgets its fitted laws give for the rest, recomputed here from random laws."""

from __future__ import annotations

import numpy as np
import pytest

from eqscale.scaling.outlook import outlook


def _model(minima: list[dict], G: float, a: float, k: float, ci: tuple[float, float],
           budgets: list[float]) -> dict:
    return {"isoflop": {"minima": minima},
            "parametric": {"allocation": {"ok": True, "params": {"G": G, "a": a, "b": 1 - a},
                                          "identified": True}},
            "frontier": {"points": {"C": budgets},
                         "power_law": {"ok": True, "params": {"exponent": k},
                                       "ci": {"exponent": list(ci)}}}}


def _edge(budget: float, sizes: list[float]) -> dict:
    """A budget whose smallest size wins (loss rising with N): no interior minimum."""
    return {"ok": False, "budget": budget, "N": sizes, "L": [0.01 * (1 + i)
                                                             for i in range(len(sizes))]}


def test_edge_minima_get_the_budget_where_the_allocation_reaches_the_next_size():
    rng = np.random.default_rng()
    G, a = rng.uniform(0.1, 10), rng.uniform(0.2, 0.8)
    sizes = sorted(rng.uniform(1e3, 1e6, size=3).tolist())
    budgets = [1e12, 2e12, 4e12]
    res = _model([_edge(b, sizes) for b in budgets], G, a, -0.1, (-0.2, -0.05), budgets)
    text = outlook({"models": {"gatr": res}})
    assert "GATr at 0 of 3 budgets" in text and "smallest size of the grid wins" in text
    assert f"at about {(sizes[1] / G) ** (1 / a):.2g} FLOPs" in text
    assert "Compute scaling" not in text  # the exponent's interval excludes 0


def test_three_interior_minima_need_no_outlook_and_flat_exponents_get_a_span():
    rng = np.random.default_rng()
    k = -rng.uniform(0.01, 0.2)
    hi = rng.uniform(0.0, 0.1)
    budgets = sorted(rng.uniform(1e11, 1e14, size=4).tolist())
    good = [{"ok": True, "budget": b, "N": [1, 2, 3], "L": [2, 1, 2], "N_opt": 2}
            for b in budgets[:3]]
    res = _model(good + [_edge(budgets[3], [1, 2, 3])], 1.0, 0.5, k, (k - 0.1, hi), budgets)
    text = outlook({"models": {"transformer": res}})
    assert "Transformer at 3 of 4 budgets. Compute scaling" in text
    assert "smallest size" not in text
    span = (hi - k) / abs(k)
    reach = budgets[0] * (budgets[-1] / budgets[0]) ** span
    assert f"up to about {reach:.2g} FLOPs" in text and f"({span:.2g}x the decades" in text


def test_a_rising_frontier_or_a_missing_allocation_is_said_in_words():
    budgets = [1e12, 2e12]
    res = _model([_edge(b, [1.0, 2.0, 3.0]) for b in budgets], 1.0, 0.5, 0.05, (-0.01, 0.1),
                 budgets)
    res["parametric"]["allocation"] = {"ok": False, "reason": "no L(N, D) fit"}
    text = outlook({"models": {"gatr": res}})
    assert "no fitted allocation" in text and "does not fall with compute" in text
    assert "gives no budget at which the interval would exclude 0" in text
    assert outlook({"models": {"gatr": {**res, "isoflop": {"minima": []}}}}) is None


@pytest.mark.parametrize("a", [0.0, -0.3])
def test_an_allocation_that_does_not_grow_gives_no_budget(a):
    res = _model([_edge(1e12, [1.0, 2.0, 3.0])], 1.0, a, -0.1, (-0.2, -0.05), [1e12])
    assert "does not grow with compute" in outlook({"models": {"gatr": res}})
