"""Scaling-law fits: the power law y = A x^k (+ E) and Chinchilla's L(N, D) = E + A/N^a + B/D^b.

Both public fits raise :class:`eqscale.errors.FitError` on degenerate input (too few points,
non-positive or non-finite values, no spread) and when no optimiser start converges, so a
caller never gets a silently meaningless fit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, minimize

from eqscale.errors import FitError

HUBER_DELTA = 1e-3  # Chinchilla / Epoch: Huber on log residuals with delta = 1e-3

# Epoch AI's grid of L-BFGS starts for Approach 3 (Besiroglu et al. 2024): e, a, b are the logs
# of E, A, B. The whole grid is scored at once; L-BFGS runs from the best-scoring starts.
_GRID_ALPHA = np.arange(0.0, 2.5, 0.5)
_GRID_BETA = np.arange(0.0, 2.5, 0.5)
_GRID_E = np.arange(-1.0, 1.5, 0.5)
_GRID_A = np.arange(0.0, 30.0, 5.0)
_GRID_B = np.arange(0.0, 30.0, 5.0)
_N_LBFGS_STARTS = 12

# Plausible range of a scaling exponent. Fits are bounded to it (alpha, beta in [0, 3];
# |exponent| <= 3 for the offset power law): with few points an unbounded optimiser runs off to
# exponents like 35 with A = 1e37, which fit the points but mean nothing. An estimate that ends
# on a bound is listed in the fit's ``at_bound`` so callers can say it is not identified.
EXPONENT_BOUND = 3.0
_BOUND_TOL = 1e-3


@dataclass(frozen=True)
class PowerLawFit:
    """y = E + A * x**exponent (E = 0 for the pure power law); ``exponent`` keeps its sign,
    so a loss falling with compute has a negative exponent."""

    A: float
    exponent: float
    E: float = 0.0
    offset: bool = False
    n_points: int = 0
    rms_log_residual: float = 0.0
    at_bound: tuple[str, ...] = ()  # params whose estimate ended on the optimiser's bound

    def predict(self, x: np.ndarray | float) -> np.ndarray:
        return self.E + self.A * np.asarray(x, dtype=float) ** self.exponent

    def params(self) -> dict[str, float]:
        out = {"A": self.A, "exponent": self.exponent}
        if self.offset:
            out["E"] = self.E
        return out


@dataclass(frozen=True)
class ParametricFit:
    """L(N, D) = E + A / N**alpha + B / D**beta, fitted on log residuals with a Huber loss."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    objective: float
    n_points: int
    converged_starts: int
    at_bound: tuple[str, ...] = ()  # params whose estimate ended on the optimiser's bound

    def predict(self, N: np.ndarray | float, D: np.ndarray | float) -> np.ndarray:
        N = np.asarray(N, dtype=float)
        D = np.asarray(D, dtype=float)
        return self.E + self.A * N**-self.alpha + self.B * D**-self.beta

    def params(self) -> dict[str, float]:
        return {"E": self.E, "A": self.A, "B": self.B, "alpha": self.alpha, "beta": self.beta}


def _as_positive_array(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(arr)):
        raise FitError(f"{name} has non-finite values")
    if np.any(arr <= 0):
        raise FitError(f"{name} has non-positive values (a power law needs positive data)")
    return arr


def _check_spread(name: str, arr: np.ndarray, need: int = 2) -> None:
    if np.unique(arr).size < need:
        raise FitError(f"{name} needs at least {need} distinct values, got {np.unique(arr).size}")


# --- power law --------------------------------------------------------------------------------


def fit_power_law(x, y, offset: bool = False,
                  start: dict[str, float] | None = None) -> PowerLawFit:
    """Fit y = A x^exponent, or y = E + A x^exponent with ``offset=True`` (E >= 0).

    The pure law is least squares on log y (a line in log-log); the offset law minimises squared
    log residuals from several starts: a grid of nine, or, given ``start`` (the ``params`` of an
    earlier offset fit, e.g. the point estimate seeding a bootstrap resample), from it and the
    pure law's slope. Needs 2 points and 2 distinct x (4 points and 3 distinct x with an
    offset).
    """
    x = _as_positive_array("x", x)
    y = _as_positive_array("y", y)
    if x.shape != y.shape:
        raise FitError(f"x and y differ in length ({x.size} vs {y.size})")
    need = 4 if offset else 2
    if x.size < need:
        raise FitError(f"a power law{' with offset' if offset else ''} needs at least {need} "
                       f"points, got {x.size}")
    _check_spread("x", x, 3 if offset else 2)
    lx, ly = np.log(x), np.log(y)
    k, a = np.polyfit(lx, ly, 1)
    if not offset:
        rms = float(np.sqrt(np.mean((a + k * lx - ly) ** 2)))
        return PowerLawFit(A=float(np.exp(a)), exponent=float(k), n_points=x.size,
                           rms_log_residual=rms)
    return _fit_offset_power_law(lx, ly, y, k, start)


def _fit_offset_power_law(lx: np.ndarray, ly: np.ndarray, y: np.ndarray,
                          k_pure: float, start: dict[str, float] | None = None) -> PowerLawFit:
    """y = exp(e) + exp(a + k lx): residuals in log y, analytic Jacobian, several starts."""
    lx0 = lx.mean()  # centre log x so a and k are not strongly correlated

    def residuals(p):
        e, a, k = p
        with np.errstate(invalid="ignore", over="ignore"):
            return np.logaddexp(e, a + k * (lx - lx0)) - ly

    def jacobian(p):
        e, a, k = p
        t = a + k * (lx - lx0)
        with np.errstate(invalid="ignore", over="ignore"):
            w_e = np.exp(e - np.logaddexp(e, t))
        w_t = 1.0 - w_e
        return np.stack([w_e, w_t, w_t * (lx - lx0)], axis=1)

    sign = -1.0 if k_pure < 0 else 1.0
    kb = EXPONENT_BOUND
    lower, upper = [-np.inf, -np.inf, -kb], [np.inf, np.inf, kb]
    best = None
    grid = list(itertools.product((1e-3, 0.5, 0.9), (k_pure, 2.0 * k_pure, sign * 1.0)))
    starts: list[tuple[float, float, float]] = []
    if start is not None and start.get("E", 0) > 0 and start.get("A", 0) > 0:
        k_w = float(np.clip(start["exponent"], -0.99 * kb, 0.99 * kb))
        starts.append((float(np.log(start["E"])), float(np.log(start["A"]) + k_w * lx0), k_w))
        grid = [(0.5, k_pure)]
    for frac, k0 in grid:
        k0 = float(np.clip(k0, -0.99 * kb, 0.99 * kb))
        e0 = float(np.log(frac * y.min()))
        rest = np.maximum(y - np.exp(e0), 1e-12 * y.max())
        starts.append((e0, float(np.mean(np.log(rest) - k0 * (lx - lx0))), k0))
    for e0, a0, k0 in starts:
        res = least_squares(residuals, [e0, a0, k0], jac=jacobian, method="trf",
                            bounds=(lower, upper), xtol=1e-14, ftol=1e-14, gtol=1e-14,
                            max_nfev=5000)
        finite = np.all(np.isfinite(res.x)) and max(res.x[0], res.x[1] - res.x[2] * lx0) < 700
        if res.success and finite and (best is None or res.cost < best.cost):
            best = res
    if best is None:
        raise FitError("offset power-law fit did not converge from any start")
    e, a, k = best.x
    rms = float(np.sqrt(2.0 * best.cost / ly.size))
    at_bound = ("exponent",) if abs(abs(k) - kb) < _BOUND_TOL else ()
    return PowerLawFit(A=float(np.exp(a - k * lx0)), exponent=float(k), E=float(np.exp(e)),
                       offset=True, n_points=ly.size, rms_log_residual=rms, at_bound=at_bound)


# --- parametric L(N, D) -----------------------------------------------------------------------


def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    absr = np.abs(r)
    return np.where(absr <= delta, 0.5 * r**2, delta * (absr - 0.5 * delta))


def _parametric_objective(theta: np.ndarray, lN: np.ndarray, lD: np.ndarray, lL: np.ndarray,
                          delta: float) -> tuple[float, np.ndarray]:
    """Sum of Huber(log L_pred - log L) / delta and its gradient in (a, b, e, alpha, beta).

    log L_pred = logsumexp(a - alpha log N, b - beta log D, e). Dividing by delta keeps the
    objective O(1) so L-BFGS's tolerances mean something.
    """
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * lN, b - beta * lD, np.full_like(lN, e)])  # (3, n)
    top = terms.max(axis=0)
    lse = top + np.log(np.exp(terms - top).sum(axis=0))
    w = np.exp(terms - lse)  # softmax weights, d lse / d term
    r = lse - lL
    g = np.clip(r, -delta, delta) / delta  # d huber / d r, scaled
    grad = np.array([
        np.sum(g * w[0]), np.sum(g * w[1]), np.sum(g * w[2]),
        -np.sum(g * w[0] * lN), -np.sum(g * w[1] * lD),
    ])
    return float(np.sum(_huber(r, delta)) / delta), grad


def _grid_scores(lN: np.ndarray, lD: np.ndarray, lL: np.ndarray, delta: float):
    """Objective at every grid start at once: returns starts (G, 5) and scores (G,)."""
    starts = np.array(list(itertools.product(_GRID_A, _GRID_B, _GRID_E, _GRID_ALPHA,
                                             _GRID_BETA)))
    a, b, e, alpha, beta = (starts[:, i:i + 1] for i in range(5))
    lse = np.logaddexp(np.logaddexp(a - alpha * lN, b - beta * lD), e)  # (G, n)
    return starts, _huber(lse - lL, delta).sum(axis=1) / delta


def fit_parametric(N, D, L, delta: float = HUBER_DELTA,
                   extra_starts: list[dict[str, float]] | None = None,
                   n_starts: int = _N_LBFGS_STARTS) -> ParametricFit:
    """Chinchilla Approach 3 / Epoch AI: L(N, D) = E + A N^-alpha + B D^-beta.

    Minimises sum Huber_delta(logsumexp(a - alpha log N, b - beta log D, e) - log L) with
    E, A, B = exp(e), exp(a), exp(b), using L-BFGS with the analytic gradient from the best
    ``n_starts`` starts of Epoch's grid (plus ``extra_starts``, e.g. a previous fit for a
    bootstrap). The lowest objective among converged starts wins; none converged: FitError.
    """
    N = _as_positive_array("N", N)
    D = _as_positive_array("D", D)
    L = _as_positive_array("L", L)
    if not (N.size == D.size == L.size):
        raise FitError(f"N, D and L differ in length ({N.size}, {D.size}, {L.size})")
    if N.size < 6:
        raise FitError(f"L(N, D) has 5 parameters and needs at least 6 runs, got {N.size}")
    _check_spread("N", N)
    _check_spread("D", D)
    lN, lD, lL = np.log(N), np.log(D), np.log(L)
    starts, scores = _grid_scores(lN, lD, lL, delta)
    chosen = list(starts[np.argsort(scores, kind="stable")[:n_starts]])
    for s in extra_starts or []:
        chosen.insert(0, np.array([np.log(s["A"]), np.log(s["B"]), np.log(max(s["E"], 1e-12)),
                                   s["alpha"], s["beta"]]))
    best, converged = None, 0
    kb = EXPONENT_BOUND
    bounds = [(None, None)] * 3 + [(0.0, kb)] * 2
    for x0 in chosen:
        x0 = np.array(x0, dtype=float)
        x0[3:] = np.clip(x0[3:], 0.0, kb)
        res = minimize(_parametric_objective, x0, args=(lN, lD, lL, delta), jac=True,
                       method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 10000, "ftol": 1e-12, "gtol": 1e-7, "maxcor": 20})
        # E, A, B = exp(e, a, b) must be representable: a run-away start is not a fit
        finite = np.all(np.isfinite(res.x)) and np.max(res.x[:3]) < 700.0
        # the projected gradient: a component pushing past a bound is not a failure to converge
        g = np.asarray(res.jac, dtype=float).copy()
        g[3:][(res.x[3:] <= _BOUND_TOL) & (g[3:] > 0)] = 0.0
        g[3:][(res.x[3:] >= kb - _BOUND_TOL) & (g[3:] < 0)] = 0.0
        ok = finite and (res.success or np.max(np.abs(g)) < 1e-5)
        if not ok:
            continue
        converged += 1
        if best is None or res.fun < best.fun:
            best = res
    if best is None:
        raise FitError("L(N, D) fit did not converge from any start")
    a, b, e, alpha, beta = best.x
    at_bound = tuple(name for name, v in (("alpha", alpha), ("beta", beta))
                     if v <= _BOUND_TOL or v >= kb - _BOUND_TOL)
    return ParametricFit(E=float(np.exp(e)), A=float(np.exp(a)), B=float(np.exp(b)),
                         alpha=float(alpha), beta=float(beta), objective=float(best.fun * delta),
                         n_points=int(N.size), converged_starts=converged, at_bound=at_bound)
