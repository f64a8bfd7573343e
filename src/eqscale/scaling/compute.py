"""Compute-side laws of one model: frontier points, IsoFLOP minima, cost model, allocation.

All functions take a :class:`RunTable` restricted to one model and raise FitError when the
table cannot support the law (the analysis records the reason instead of crashing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eqscale.errors import FitError
from eqscale.scaling.fits import ParametricFit
from eqscale.scaling.runtable import RunTable


def budget_groups(table: RunTable) -> list[tuple[float, np.ndarray]]:
    """(budget, row indices) for each distinct finite budget, ascending; budgets equal to four
    significant digits in log10 are one group."""
    ok = np.isfinite(table.budget) & (table.budget > 0)
    keys = np.full(len(table), np.nan)
    keys[ok] = np.round(np.log10(table.budget[ok]), 4)
    groups = []
    for key in np.unique(keys[ok]):
        idx = np.flatnonzero(keys == key)
        groups.append((float(np.median(table.budget[idx])), idx))
    return groups


def frontier_points(table: RunTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per budget, the best run: returns (budget (G,), compute spent (G,), loss (G,))."""
    budgets, spent, losses = [], [], []
    for budget, idx in budget_groups(table):
        best = idx[np.argmin(table.loss[idx])]
        budgets.append(budget)
        spent.append(table.flops[best])
        losses.append(table.loss[best])
    return np.array(budgets), np.array(spent), np.array(losses)


def pareto_points(x: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower envelope: runs no cheaper run beats, sorted by x (e.g. wall-clock seconds)."""
    order = np.argsort(x, kind="stable")
    keep, best = [], np.inf
    for i in order:
        if loss[i] < best:
            keep.append(i)
            best = loss[i]
    keep = np.array(keep, dtype=int)
    return x[keep], loss[keep]


@dataclass(frozen=True)
class IsoflopMinimum:
    """Vertex of the parabola L = c0 + c1 log N + c2 (log N)^2 fitted at one budget."""

    budget: float
    N_opt: float
    L_min: float
    curvature: float


def isoflop_minimum(budget: float, N: np.ndarray, L: np.ndarray) -> IsoflopMinimum:
    """Parabola in log N through one IsoFLOP slice; the vertex must lie within the sampled
    sizes (half a grid step of slack on either side) or it is an extrapolation, refused."""
    logN = np.log(N)
    distinct = np.unique(logN)
    if distinct.size < 3:
        raise FitError(f"budget {budget:.3g}: needs 3 distinct sizes, got {distinct.size}")
    c2, c1, c0 = np.polyfit(logN, L, 2)
    if not c2 > 0:
        raise FitError(f"budget {budget:.3g}: loss is not convex in log N (no interior minimum)")
    vertex = -c1 / (2 * c2)
    slack = 0.5 * np.min(np.diff(distinct))
    if not distinct[0] - slack <= vertex <= distinct[-1] + slack:
        raise FitError(f"budget {budget:.3g}: minimum lies outside the sampled sizes "
                       f"(N_opt ~ {np.exp(vertex):.3g})")
    return IsoflopMinimum(budget=budget, N_opt=float(np.exp(vertex)),
                          L_min=float(c0 + c1 * vertex + c2 * vertex**2), curvature=float(c2))


@dataclass(frozen=True)
class CostModel:
    """Measured compute per run: C = k N^p D (k = FLOPs per sample per parameter^p).

    For a dense transformer p = 1 and k = 6; GATr's multivector blocks and attention terms make
    the measured k and p differ, which is why the allocation uses this fit and not 6ND.
    """

    k: float
    p: float
    rms_log_residual: float

    def samples(self, C: np.ndarray | float, N: np.ndarray | float) -> np.ndarray:
        """D that budget C buys at size N."""
        return np.asarray(C, dtype=float) / (self.k * np.asarray(N, dtype=float) ** self.p)


def fit_cost_model(table: RunTable) -> CostModel:
    """Least squares of log(C / D) = log k + p log N over all runs of one model."""
    if np.unique(table.N).size < 2:
        raise FitError("cost model needs runs of at least 2 model sizes")
    lN = np.log(table.N)
    lc = np.log(table.flops / table.D)
    p, lk = np.polyfit(lN, lc, 1)
    rms = float(np.sqrt(np.mean((lk + p * lN - lc) ** 2)))
    return CostModel(k=float(np.exp(lk)), p=float(p), rms_log_residual=rms)


@dataclass(frozen=True)
class Allocation:
    """Compute-optimal size on the fitted surface: N_opt = G C^a, D_opt = C / (k N_opt^p).

    Minimising E + A N^-alpha + B (C / (k N^p))^-beta over N gives
    alpha A N^-alpha = p beta B k^beta C^-beta N^(p beta), so
    N_opt = (alpha A / (p beta B k^beta))^(1 / (alpha + p beta)) * C^(beta / (alpha + p beta)),
    and D_opt ~ C^b with b = 1 - p a.
    """

    G: float
    a: float
    b: float
    cost: CostModel

    def n_opt(self, C: np.ndarray | float) -> np.ndarray:
        return self.G * np.asarray(C, dtype=float) ** self.a

    def d_opt(self, C: np.ndarray | float) -> np.ndarray:
        return self.cost.samples(C, self.n_opt(C))


def allocation(fit: ParametricFit, cost: CostModel) -> Allocation:
    """Closed-form compute-optimal allocation (see :class:`Allocation`)."""
    if not (fit.alpha > 0 and fit.beta > 0 and cost.p > 0):
        raise FitError(f"no interior optimum: alpha={fit.alpha:.3g}, beta={fit.beta:.3g}, "
                       f"p={cost.p:.3g} must all be positive")
    denom = fit.alpha + cost.p * fit.beta
    a = fit.beta / denom
    G = (fit.alpha * fit.A / (cost.p * fit.beta * fit.B * cost.k**fit.beta)) ** (1.0 / denom)
    return Allocation(G=float(G), a=float(a), b=float(1.0 - cost.p * a), cost=cost)


def matched_ratio(num: dict, den: dict) -> dict:
    """Geometric mean over the training-set sizes both data-study arms ran of the ratio
    num / den of their best losses (``points`` dicts with ``n_train`` and ``L``): > 1 where
    ``den`` reaches the lower loss on the same data."""
    if not num.get("n_train") or not den.get("n_train"):
        raise FitError("needs data-study runs of both arms")
    a = {f"{n:.4g}": loss for n, loss in zip(num["n_train"], num["L"])}
    b = {f"{n:.4g}": loss for n, loss in zip(den["n_train"], den["L"])}
    shared = sorted(set(a) & set(b), key=float)
    if not shared:
        raise FitError("the two arms share no training-set size")
    ratio = float(np.exp(np.mean([np.log(a[k] / b[k]) for k in shared])))
    return {"params": {"ratio": ratio}, "n_train": [float(k) for k in shared]}
