"""Which fitted parameters count as identified: the flags the tables and conclusion rely on."""

from __future__ import annotations

import numpy as np
import pytest

from eqscale.scaling.fits import EXPONENT_BOUND
from eqscale.scaling.identification import _unidentified


def _node(ci: dict[str, list[float]], **extra) -> dict:
    return {"ok": True, "params": {k: float(np.mean(v)) for k, v in ci.items()}, "ci": ci, **extra}


@pytest.fixture
def rng():
    return np.random.default_rng()


def test_tight_intervals_are_identified(rng):
    e = rng.uniform(1e-3, 1e-2)
    alpha = rng.uniform(0.2, 1.0)
    node = _node({"E": [e, 1.5 * e], "A": [0.5, 2.0], "alpha": [alpha, alpha + 0.3]})
    assert _unidentified(node, flexible=True) == {}


@pytest.mark.parametrize("name", ["alpha", "beta"])
def test_a_bounded_exponent_whose_interval_reaches_the_bound_is_flagged(rng, name):
    """L(N, D)'s exponents live in [0, bound]: an interval up to the bound is the whole range
    although its width is below the bound."""
    lo = rng.uniform(0.0, 0.5)
    why = _unidentified(_node({name: [lo, EXPONENT_BOUND]}), flexible=True)
    assert "reaches the optimiser's bound" in why[name]
    near = EXPONENT_BOUND - rng.uniform(0.1, 1.0)
    assert _unidentified(_node({name: [lo, near]}), flexible=True) == {}


def test_a_signed_exponent_spanning_the_range_is_flagged(rng):
    lo = -EXPONENT_BOUND + rng.uniform(0.0, 0.001)
    why = _unidentified(_node({"exponent": [lo, EXPONENT_BOUND]}), flexible=True)
    assert "spans the plausible range" in why["exponent"]


def test_scale_parameters_spanning_orders_of_magnitude_or_zero_are_flagged(rng):
    a = rng.uniform(0.1, 1.0)
    why = _unidentified(_node({"A": [a * 1e-6, a], "E": [0.0, a]}), flexible=True)
    assert "spans orders of magnitude" in why["A"] and "reaches 0" in why["E"]


def test_pure_laws_are_judged_by_bound_and_resamples_only(rng):
    node = _node({"A": [1e-9, 1.0], "exponent": [-EXPONENT_BOUND, EXPONENT_BOUND]},
                 at_bound=["exponent"])
    why = _unidentified(node, flexible=False)
    assert set(why) == {"exponent"} and "bound" in why["exponent"]
    withheld = _node({"A": [0.1, 0.2]}, ci_withheld="no interval: only 3 of 200 resamples")
    assert _unidentified(withheld, flexible=False) == {"A": withheld["ci_withheld"]}
