"""The public fits recover known laws, reproduce Epoch AI's Chinchilla fit, refuse bad input."""

import csv

import numpy as np
import pytest

from eqscale.errors import EqscaleError, FitError
from eqscale.scaling import fit_parametric, fit_power_law


def _chinchilla(shared_dir):
    with open(shared_dir / "reference" / "chinchilla_svg_extracted.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    N = np.array([float(r["Model Size"]) for r in rows])
    C = np.array([float(r["Training FLOP"]) for r in rows])
    L = np.array([float(r["loss"]) for r in rows])
    keep = np.argsort(L, kind="stable")[:-5]  # Epoch dropped the 5 highest-loss runs
    return N[keep], C[keep] / (6.0 * N[keep]), L[keep]


def test_parametric_reproduces_epoch_chinchilla_fit(shared_dir):
    N, D, L = _chinchilla(shared_dir)
    assert N.size == 240
    fit = fit_parametric(N, D, L)
    assert abs(fit.alpha - 0.348) < 0.01
    assert abs(fit.beta - 0.366) < 0.02
    assert abs(fit.E - 1.82) < 0.03
    # the coefficients follow the exponents; Epoch reports A = 482, B = 2085
    assert 0.8 < fit.A / 482.0 < 1.25 and 0.8 < fit.B / 2085.0 < 1.25
    assert fit.converged_starts >= 1


@pytest.mark.parametrize("seed", [0, 1])
def test_parametric_recovers_known_law_from_noisy_data(seed):
    rng = np.random.default_rng(seed)
    truth = {"E": 1.5, "A": 300.0, "B": 900.0, "alpha": 0.32, "beta": 0.28}
    N = 10 ** rng.uniform(6, 9.5, 150)
    D = 10 ** rng.uniform(8, 11.5, 150)
    L = truth["E"] + truth["A"] * N ** -truth["alpha"] + truth["B"] * D ** -truth["beta"]
    L = L * np.exp(0.005 * rng.standard_normal(L.size))
    fit = fit_parametric(N, D, L)
    assert abs(fit.alpha - truth["alpha"]) < 0.03
    assert abs(fit.beta - truth["beta"]) < 0.03
    assert abs(fit.E - truth["E"]) < 0.05
    pred = fit.predict(N, D)
    assert np.sqrt(np.mean(np.log(pred / L) ** 2)) < 0.01


def test_parametric_is_exact_on_noise_free_data():
    rng = np.random.default_rng(7)
    N = 10 ** rng.uniform(4, 7, 60)
    D = 10 ** rng.uniform(5, 8, 60)
    L = 0.05 + 20.0 * N**-0.4 + 50.0 * D**-0.3
    fit = fit_parametric(N, D, L)
    assert fit.alpha == pytest.approx(0.4, abs=2e-3)
    assert fit.beta == pytest.approx(0.3, abs=2e-3)
    assert fit.E == pytest.approx(0.05, rel=2e-2)


def test_pure_power_law_recovers_exponent_with_sign():
    rng = np.random.default_rng(3)
    x = 10 ** rng.uniform(10, 16, 25)
    y = 3.0 * x**-0.12 * np.exp(0.01 * rng.standard_normal(25))
    fit = fit_power_law(x, y)
    assert fit.exponent == pytest.approx(-0.12, abs=0.005)
    assert fit.A == pytest.approx(3.0, rel=0.2)
    assert not fit.offset and fit.E == 0.0
    up = fit_power_law(x, 2e-3 * x**0.5)
    assert up.exponent == pytest.approx(0.5, abs=1e-9) and up.A == pytest.approx(2e-3, rel=1e-6)


def test_offset_power_law_recovers_floor():
    rng = np.random.default_rng(4)
    x = np.geomspace(1e2, 1e9, 30)
    y = (0.4 + 25.0 * x**-0.3) * np.exp(0.003 * rng.standard_normal(30))
    fit = fit_power_law(x, y, offset=True)
    assert fit.offset
    assert fit.E == pytest.approx(0.4, abs=0.03)
    assert fit.exponent == pytest.approx(-0.3, abs=0.03)
    assert np.allclose(fit.predict(x), y, rtol=0.02)


def test_offset_power_law_from_a_warm_start_finds_the_grids_optimum():
    """The bootstrap's fast path: seeded by the point estimate, a resample's offset fit reaches
    the same optimum as the nine-start grid, on fresh random laws."""
    rng = np.random.default_rng()
    E, A, k = rng.uniform(0.1, 1.0), rng.uniform(5, 50), -rng.uniform(0.1, 0.6)
    x = np.geomspace(1e2, 1e9, 20)
    y = (E + A * x**k) * np.exp(0.003 * rng.standard_normal(20))
    point = fit_power_law(x, y, offset=True)
    resample = rng.choice(20, size=20)
    xs, ys = x[resample], y[resample]
    grid = fit_power_law(xs, ys, offset=True)
    warm = fit_power_law(xs, ys, offset=True, start=point.params())
    assert warm.rms_log_residual <= grid.rms_log_residual * (1 + 1e-6) + 1e-12
    assert warm.exponent == pytest.approx(grid.exponent, rel=1e-3, abs=1e-4)
    assert warm.E == pytest.approx(grid.E, rel=1e-3, abs=1e-4)


@pytest.mark.parametrize(
    ("N", "D", "L", "words"),
    [
        ([1e6] * 3, [1e9] * 3, [2.0] * 3, "at least 6"),
        (np.full(8, 1e6), np.geomspace(1e8, 1e10, 8), np.linspace(3, 2, 8), "distinct"),
        (np.geomspace(1e6, 1e8, 8), np.geomspace(1e8, 1e10, 8), [-1.0] + [2.0] * 7,
         "non-positive"),
        (np.geomspace(1e6, 1e8, 8), np.geomspace(1e8, 1e10, 8), [np.nan] + [2.0] * 7,
         "non-finite"),
        (np.geomspace(1e6, 1e8, 8), np.geomspace(1e8, 1e10, 7), np.linspace(3, 2, 8), "length"),
    ],
)
def test_parametric_refuses_degenerate_input(N, D, L, words):
    with pytest.raises(FitError, match=words):
        fit_parametric(N, D, L)


def test_power_law_refuses_degenerate_input():
    with pytest.raises(FitError, match="at least 2 points"):
        fit_power_law([1.0], [2.0])
    with pytest.raises(FitError, match="distinct"):
        fit_power_law([5.0, 5.0, 5.0], [1.0, 2.0, 3.0])
    with pytest.raises(FitError, match="at least 4 points"):
        fit_power_law([1.0, 2.0, 3.0], [3.0, 2.0, 1.5], offset=True)
    with pytest.raises(FitError, match="non-positive"):
        fit_power_law([1.0, 0.0], [1.0, 2.0])
    assert issubclass(FitError, EqscaleError)
