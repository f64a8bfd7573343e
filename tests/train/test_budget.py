"""Budget -> steps arithmetic and the compute figures of a run."""

import math

import pytest

from eqscale.errors import EqscaleError
from eqscale.train.budget import SampleCost, compute_figures, steps_for_budget


def test_steps_are_the_floor_of_budget_over_cost_per_step():
    assert steps_for_budget(1000.0, 10.0, 4) == 25
    assert steps_for_budget(999.0, 10.0, 4) == 24
    assert steps_for_budget(40.0, 10.0, 4) == 1
    for budget, per_sample, batch in [(3.7e15, 2.3e9, 32), (1e18, 7.77e10, 64)]:
        steps = steps_for_budget(budget, per_sample, batch)
        assert steps * per_sample * batch <= budget < (steps + 1) * per_sample * batch


def test_a_budget_below_one_step_is_a_user_error():
    with pytest.raises(EqscaleError, match="below the cost of one step"):
        steps_for_budget(39.0, 10.0, 4)
    with pytest.raises(EqscaleError):
        steps_for_budget(1e9, 0.0, 4)
    with pytest.raises(EqscaleError):
        steps_for_budget(1e9, math.inf, 4)


def test_cost_conventions_and_compute_figures():
    cost = SampleCost(nominal=6.0, executed=9.0)
    assert cost.in_convention("nominal") == 6.0 and cost.in_convention("executed") == 9.0
    with pytest.raises(EqscaleError):
        cost.in_convention("6ND")
    assert compute_figures(cost, 100) == {"flops_nominal": 600.0, "flops_executed": 900.0}
