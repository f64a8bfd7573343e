"""IsoFLOP minima, cost model, closed-form allocation and Pareto frontier on known inputs."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from eqscale.errors import FitError
from eqscale.scaling.compute import (
    CostModel,
    allocation,
    fit_cost_model,
    isoflop_minimum,
    pareto_points,
)
from eqscale.scaling.fits import ParametricFit
from tests.scaling.synthetic import make_rows, write_table


def test_isoflop_minimum_finds_parabola_vertex():
    N = np.geomspace(1e5, 1e7, 5)
    L = 0.3 + 0.05 * (np.log(N) - np.log(2e6)) ** 2
    m = isoflop_minimum(1e15, N, L)
    assert m.N_opt == pytest.approx(2e6, rel=1e-6)
    assert m.L_min == pytest.approx(0.3, abs=1e-9)


def test_isoflop_minimum_refuses_what_it_cannot_locate():
    N = np.geomspace(1e5, 1e7, 5)
    with pytest.raises(FitError, match="3 distinct sizes"):
        isoflop_minimum(1e15, N[:2], np.array([1.0, 0.9]))
    with pytest.raises(FitError, match="not convex"):
        isoflop_minimum(1e15, N, 1.0 - 0.01 * (np.log(N) - np.log(1e6)) ** 2)
    with pytest.raises(FitError, match="outside"):
        isoflop_minimum(1e15, N, 0.3 + 0.05 * (np.log(N) - np.log(1e9)) ** 2)


def test_cost_model_recovers_k_and_p(tmp_path):
    from eqscale.scaling.runtable import load_runs

    table = load_runs(write_table(make_rows(), tmp_path / "runs.csv")).select(model="gatr")
    cm = fit_cost_model(table)
    assert cm.k == pytest.approx(40.0, rel=1e-6) and cm.p == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(FitError, match="2 model sizes"):
        fit_cost_model(table.take(np.zeros(3, dtype=int)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_allocation_matches_numeric_optimum(seed):
    rng = np.random.default_rng(seed)
    fit = ParametricFit(E=rng.uniform(0, 1), A=rng.uniform(10, 500), B=rng.uniform(10, 2000),
                        alpha=rng.uniform(0.2, 0.6), beta=rng.uniform(0.2, 0.6), objective=0,
                        n_points=0, converged_starts=0)
    cost = CostModel(k=rng.uniform(5, 60), p=rng.uniform(0.8, 1.2), rms_log_residual=0)
    al = allocation(fit, cost)
    assert al.b == pytest.approx(1 - cost.p * al.a)
    for C in (1e15, 1e18, 1e21):
        def loss(logN, C=C):
            N = np.exp(logN)
            return fit.predict(N, cost.samples(C, N))
        best = minimize_scalar(loss, bounds=(0, 60), method="bounded",
                               options={"xatol": 1e-10})
        assert np.log(al.n_opt(C)) == pytest.approx(best.x, abs=1e-4)
        assert al.d_opt(C) * cost.k * al.n_opt(C) ** cost.p == pytest.approx(C, rel=1e-9)


def test_allocation_refuses_non_positive_exponents():
    fit = ParametricFit(E=1, A=1, B=1, alpha=-0.1, beta=0.3, objective=0, n_points=0,
                        converged_starts=0)
    with pytest.raises(FitError, match="no interior optimum"):
        allocation(fit, CostModel(k=6, p=1, rms_log_residual=0))


def test_pareto_points_keep_only_improvements():
    x = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    loss = np.array([0.1, 0.9, 0.5, 0.95, 0.6])
    px, pl = pareto_points(x, loss)
    assert px.tolist() == [1.0, 3.0, 5.0] and pl.tolist() == [0.9, 0.5, 0.1]
