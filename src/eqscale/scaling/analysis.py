"""The whole scaling analysis of a run table, with run-level bootstrap intervals (``eqscale fit``).

Per model: the compute frontier L(C) (pure and offset power law), the same against wall-clock
seconds, IsoFLOP minima and N_opt ~ C^a, D_opt ~ C^b, the measured cost model C = k N^p D, the
parametric L(N, D) and the allocation it implies, and data scaling with and without
augmentation. Across models: the baseline / equivariant loss ratio at each budget and whether
the compute exponents differ. A fit the table cannot support is recorded as
``{"ok": false, "reason": ...}``; it never aborts the analysis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from eqscale.atomic import write_json_atomic
from eqscale.errors import EqscaleError, FitError
from eqscale.scaling.bootstrap import BootstrapSamples, stratified_resample
from eqscale.scaling.compute import (
    CostModel,
    allocation,
    budget_groups,
    fit_cost_model,
    frontier_points,
    isoflop_minimum,
    matched_ratio,
    pareto_points,
)
from eqscale.scaling.fits import (
    ParametricFit,
    PowerLawFit,
    fit_parametric,
    fit_power_law,
)
from eqscale.scaling.identification import identify
from eqscale.scaling.learning_rates import lr_summary
from eqscale.scaling.references import reference_summary
from eqscale.scaling.runtable import BASELINE, EQUIVARIANT, RunTable, load_runs

FitResult = dict[str, Any]
FITS_FORMAT = "eqscale-fits-4"  # bump when the layout of fits.json changes


def attempt(fn: Callable[[], dict]) -> FitResult:
    """Run one fit: ``{"ok": True, ...}`` or ``{"ok": False, "reason": ...}`` on FitError."""
    try:
        return {"ok": True, **fn()}
    except FitError as exc:
        return {"ok": False, "reason": str(exc)}


def _law(fit: PowerLawFit) -> dict:
    return {"params": fit.params(), "n_points": fit.n_points,
            "rms_log_residual": fit.rms_log_residual, "at_bound": list(fit.at_bound)}


def _power_laws(x: np.ndarray, y: np.ndarray, warm: dict | None = None) -> dict:
    """Pure and offset law; ``warm``: an earlier result of the same group, whose offset law
    seeds this one (the bootstrap's fast path, as for L(N, D))."""
    seed = (warm or {}).get("offset_law", {})
    start = seed["params"] if seed.get("ok") else None
    return {"power_law": attempt(lambda: _law(fit_power_law(x, y))),
            "offset_law": attempt(lambda: _law(fit_power_law(x, y, offset=True, start=start)))}


def analyse_model(table: RunTable, warm: dict | None = None) -> dict:
    """All laws of one model's runs. ``warm``: a previous result whose parametric and offset
    fits seed this one (the bootstrap's fast path: few starts)."""
    warm = warm or {}
    compute = table.select(kind="compute")
    out: dict[str, Any] = {"n_runs": {"compute": len(compute),
                                      "data": len(table.select(kind="data"))}}
    cost = attempt(lambda: _cost(table))
    out["cost_model"] = cost

    budgets, spent, losses = frontier_points(compute)
    out["frontier"] = {"points": {"budget": budgets.tolist(), "C": spent.tolist(),
                                  "L": losses.tolist()},
                       **_power_laws(spent, losses, warm.get("frontier"))}

    timed = compute.take(np.isfinite(compute.wall_seconds) & (compute.wall_seconds > 0))
    seconds, wall_losses = pareto_points(timed.wall_seconds, timed.loss)
    out["wall_frontier"] = {"points": {"seconds": seconds.tolist(), "L": wall_losses.tolist()},
                            **_power_laws(seconds, wall_losses, warm.get("wall_frontier"))}

    out["isoflop"] = _isoflop(compute, cost)
    out["parametric"] = _parametric(compute, cost, warm)
    out["data"] = {}
    for label, augment in (("no_augment", False), ("augment", True)):
        runs = table.select(kind="data", augment=augment)
        if len(runs):
            out["data"][label] = _data_scaling(runs, warm.get("data", {}).get(label))
    return out


def _cost(table: RunTable) -> dict:
    cm = fit_cost_model(table)
    return {"params": {"k": cm.k, "p": cm.p}, "rms_log_residual": cm.rms_log_residual}


def _isoflop(compute: RunTable, cost: FitResult) -> dict:
    """Parabola minimum per budget, then power laws of N_opt and D_opt in C."""
    minima = []
    for budget, idx in budget_groups(compute):
        m = attempt(lambda b=budget, i=idx: _minimum(b, compute.N[i], compute.loss[i]))
        m["budget"] = budget
        m["N"] = compute.N[idx].tolist()
        m["L"] = compute.loss[idx].tolist()
        if m["ok"] and cost["ok"]:
            cm = CostModel(k=cost["params"]["k"], p=cost["params"]["p"], rms_log_residual=0.0)
            m["D_opt"] = float(cm.samples(budget, m["N_opt"]))
        minima.append(m)
    good = [m for m in minima if m["ok"] and "D_opt" in m]
    C = np.array([m["budget"] for m in good])
    out: dict[str, Any] = {"minima": minima}
    if len(good) >= 2:
        out["N_opt"] = attempt(lambda: _law(fit_power_law(C, [m["N_opt"] for m in good])))
        out["D_opt"] = attempt(lambda: _law(fit_power_law(C, [m["D_opt"] for m in good])))
    else:
        why = [m["reason"] for m in minima if not m["ok"]]
        if not cost["ok"]:
            why.append(f"no cost model: {cost['reason']}")
        reason = f"needs IsoFLOP minima at 2 or more budgets, got {len(good)}"
        out["N_opt"] = out["D_opt"] = {"ok": False,
                                       "reason": reason + (f" ({'; '.join(why)})" if why else "")}
    return out


def _minimum(budget: float, N: np.ndarray, L: np.ndarray) -> dict:
    m = isoflop_minimum(budget, N, L)
    return {"N_opt": m.N_opt, "L_min": m.L_min}


def _parametric(compute: RunTable, cost: FitResult, warm: dict | None) -> dict:
    warm_fit = (warm or {}).get("parametric", {}).get("fit", {})
    if warm_fit.get("ok"):
        fit = attempt(lambda: _surface(compute, [warm_fit["params"]], n_starts=2))
    else:
        fit = attempt(lambda: _surface(compute, None))
    if not fit["ok"]:
        return {"fit": fit, "allocation": {"ok": False, "reason": "no L(N, D) fit"}}
    if not cost["ok"]:
        return {"fit": fit, "allocation": {"ok": False, "reason": "no cost model"}}
    pf = ParametricFit(**fit["params"], objective=0.0, n_points=0, converged_starts=0)
    cm = CostModel(k=cost["params"]["k"], p=cost["params"]["p"], rms_log_residual=0.0)

    def solve() -> dict:
        al = allocation(pf, cm)
        return {"params": {"G": al.G, "a": al.a, "b": al.b}}

    return {"fit": fit, "allocation": attempt(solve)}


def _surface(compute: RunTable, extra: list | None, n_starts: int = 12) -> dict:
    f = fit_parametric(compute.N, compute.D, compute.loss, extra_starts=extra, n_starts=n_starts)
    return {"params": f.params(), "n_points": f.n_points, "objective": f.objective,
            "converged_starts": f.converged_starts, "at_bound": list(f.at_bound)}


def _data_scaling(runs: RunTable, warm: dict | None = None) -> dict:
    """L against training-set size (trajectories); without sizes there is nothing to fit."""
    ok = np.isfinite(runs.train_subset) & (runs.train_subset > 0)
    if not ok.any():
        return {"points": {}, "power_law": {"ok": False, "reason": "no train_subset sizes"}}
    runs = runs.take(ok)
    sizes = np.unique(runs.train_subset)
    best = np.array([runs.loss[runs.train_subset == s].min() for s in sizes])
    return {"points": {"n_train": sizes.tolist(), "L": best.tolist()},
            **_power_laws(sizes, best, warm)}


def compare(eq: dict, base: dict, wall_at: float | None = None) -> dict:
    """Baseline / equivariant loss at each shared budget (> 1: equivariant wins), their
    geometric mean, the same ratio on the wall-clock frontiers at ``wall_at`` seconds (default:
    the middle of the range both models cover), the differences of the exponents, and on the
    data study the baseline's (``data_ratio``) and the augmented baseline's
    (``augment_ratio``) loss over the equivariant model's at equal training-set sizes."""
    pe, pb = eq["frontier"]["points"], base["frontier"]["points"]
    le = {f"{b:.4g}": loss for b, loss in zip(pe["budget"], pe["L"])}
    lb = {f"{b:.4g}": loss for b, loss in zip(pb["budget"], pb["L"])}
    shared = sorted(set(le) & set(lb), key=float)
    out: dict[str, Any] = {"budgets": {k: {"ok": True, "budget": float(k),
                                           "params": {"ratio": lb[k] / le[k]}} for k in shared}}
    if shared:
        gm = math.exp(np.mean([math.log(lb[k] / le[k]) for k in shared]))
        out["mean_ratio"] = {"ok": True, "params": {"ratio": gm}, "n_budgets": len(shared)}
    else:
        out["mean_ratio"] = {"ok": False, "reason": "the two models share no budget"}
    out["wall_ratio"] = attempt(lambda: _wall_ratio(eq["wall_frontier"],
                                                    base["wall_frontier"], wall_at))
    data = {(m, label): node.get("points", {}) for m, res in (("eq", eq), ("base", base))
            for label, node in res["data"].items()}
    eq_data = data.get(("eq", "no_augment"), {})
    for key, arm in (("data_ratio", "no_augment"), ("augment_ratio", "augment")):
        if ("base", arm) in data:  # only for a data study that has this arm
            out[key] = attempt(lambda a=arm: matched_ratio(data[("base", a)], eq_data))
    out["frontier_exponent"] = _difference(eq["frontier"]["power_law"],
                                           base["frontier"]["power_law"], "exponent")
    out["allocation_a"] = _difference(eq["parametric"]["allocation"],
                                      base["parametric"]["allocation"], "a")
    out["wall_exponent"] = _difference(eq["wall_frontier"]["power_law"],
                                       base["wall_frontier"]["power_law"], "exponent")
    return out


def _wall_ratio(eq: dict, base: dict, at: float | None) -> dict:
    """Baseline / equivariant loss on the fitted wall-clock power laws at ``at`` seconds."""
    if not (eq["power_law"]["ok"] and base["power_law"]["ok"]):
        raise FitError("a wall-clock frontier fit is missing")
    if at is None:
        se, sb = eq["points"]["seconds"], base["points"]["seconds"]
        lo, hi = max(min(se), min(sb)), min(max(se), max(sb))
        if lo > hi:
            raise FitError("the models' wall-clock ranges do not overlap")
        at = math.sqrt(lo * hi)

    def law(fit: dict) -> float:
        return fit["params"]["A"] * at ** fit["params"]["exponent"]

    return {"seconds": at, "params": {"ratio": law(base["power_law"]) / law(eq["power_law"])}}


def _difference(a: FitResult, b: FitResult, name: str) -> FitResult:
    if not (a["ok"] and b["ok"]):
        return {"ok": False, "reason": f"{name} missing for one model"}
    return {"ok": True, "params": {"difference": a["params"][name] - b["params"][name]}}


def _significance(result: dict, samples: BootstrapSamples) -> None:
    """Two-sided bootstrap p-value for each exponent difference being zero."""
    for key in ("frontier_exponent", "allocation_a", "wall_exponent"):
        node = result["comparison"].get(key, {})
        d = samples.samples(f"comparison/{key}", "difference")
        if node.get("ok") and d.size >= 2:
            p = min(1.0, 2.0 * min(np.mean(d <= 0), np.mean(d >= 0)))
            node["p_value"] = float(p)
            node["differ"] = bool(p < 1.0 - 0.95)


def _fit_all(t: RunTable, warm: dict | None) -> dict:
    """Every per-model law and the comparison on one table (``warm``: the point estimates, as
    starting values for a resample's fits)."""
    models = {m: analyse_model(t.select(model=m), (warm or {}).get("models", {}).get(m))
              for m in t.models}
    res: dict[str, Any] = {"models": models}
    if EQUIVARIANT in models and BASELINE in models:
        wall_at = (warm or {}).get("comparison", {}).get("wall_ratio", {}).get("seconds")
        res["comparison"] = compare(models[EQUIVARIANT], models[BASELINE], wall_at)
    else:
        res["comparison"] = {"ok": False, "reason": f"needs both {EQUIVARIANT} and "
                                                    f"{BASELINE} runs"}
    return res


def _fit_resamples(job: tuple[list[RunTable], dict]) -> list[dict]:
    """A worker's share of the bootstrap: the fits of each resampled table, in order."""
    tables, warm = job
    return [_fit_all(t, warm) for t in tables]


def _bootstrap_fits(table: RunTable, point: dict, n_bootstrap: int, seed: int,
                    workers: int) -> list[dict]:
    """The fits of ``n_bootstrap`` resamples. The resamples are drawn here, in order, from one
    generator, and split into contiguous shares fitted by ``workers`` processes: the result is
    the same list whatever the worker count (the fits are deterministic)."""
    rng = np.random.default_rng(seed)
    tables = [stratified_resample(table, rng) for _ in range(n_bootstrap)]
    workers = max(1, min(workers, n_bootstrap))
    if workers == 1:
        return _fit_resamples((tables, point))
    from eqscale.backends import LocalBackend

    share = math.ceil(n_bootstrap / workers)
    jobs = [(tables[i:i + share], point) for i in range(0, n_bootstrap, share)]
    fitted: list[list[dict] | None] = [None] * len(jobs)
    for outcome in LocalBackend(workers=workers, threads=1).map_unordered(_fit_resamples, jobs):
        if outcome.error is not None:
            raise EqscaleError(f"a bootstrap worker failed: {outcome.error}")
        fitted[outcome.index] = outcome.value
    return [fit for part in fitted for fit in part]  # type: ignore[union-attr]


def analyse(table: RunTable, n_bootstrap: int = 200, seed: int = 0, workers: int = 1) -> dict:
    """Point estimates of every law plus percentile intervals from ``n_bootstrap`` resamples
    (fitted by ``workers`` processes; the result does not depend on their number)."""
    if len(table) == 0:
        raise EqscaleError(f"run table {table.source} has no finished runs to fit")
    if n_bootstrap < 0:
        raise EqscaleError(f"bootstrap count must be >= 0, got {n_bootstrap}")
    if workers < 1:
        raise EqscaleError(f"workers must be at least 1, got {workers}")

    result = _fit_all(table, None)
    samples = BootstrapSamples()
    for fit in _bootstrap_fits(table, result, n_bootstrap, seed, workers):
        samples.add(fit)
    samples.attach(result)
    identify(result)
    _attach_bands(result, samples)
    if "budgets" in result["comparison"]:
        _significance(result, samples)
    return {"format": FITS_FORMAT, "source": table.source, "compute_column": table.compute_column,
            "n_runs": len(table), "notes": list(table.notes), "n_bootstrap": n_bootstrap,
            "seed": seed, "equivariant": EQUIVARIANT, "baseline": BASELINE,
            "reference": reference_summary(table), "learning_rates": lr_summary(table),
            **result}


def _attach_bands(result: dict, samples: BootstrapSamples) -> None:
    """Give each frontier and data law a curve (``x``, ``y``) over its points' range and, when
    the bootstrap allows, a pointwise 95% band (``lo``, ``hi``) for the figures."""
    for model, res in result["models"].items():
        groups = [("frontier", "C"), ("wall_frontier", "seconds")]
        groups += [(f"data/{label}", "n_train") for label in res["data"]]
        for group, xkey in groups:
            node = res
            for key in group.split("/"):
                node = node[key]
            xs = node["points"].get(xkey, [])
            if len(xs) < 2:
                continue
            x = np.geomspace(min(xs), max(xs), 40)
            for law in ("power_law", "offset_law"):
                fit = node[law]
                if not fit.get("ok"):
                    continue
                p = fit["params"]
                fit["curve"] = {"x": x.tolist(),
                                "y": (p.get("E", 0.0) + p["A"] * x ** p["exponent"]).tolist()}
                band = samples.band(f"models/{model}/{group}/{law}", x)
                if band is not None:
                    fit["curve"]["lo"], fit["curve"]["hi"] = band[0].tolist(), band[1].tolist()


def fit_runs(runs: str | Path, out: str | Path | None = None, n_bootstrap: int = 200,
             seed: int = 0, workers: int | None = None) -> tuple[dict, Path]:
    """``eqscale fit``: analyse a run table (a CSV or a study directory) and write the result
    as ``fits.json`` (``out``: a file or folder; default beside the table). Returns the result
    and where it went; ``workers`` processes fit the bootstrap (default: the free cores)."""
    from eqscale.oserrors import ensure_writable_dir

    table = load_runs(runs)
    target = Path(out) if out else Path(table.source).parent / "fits.json"
    if target.suffix != ".json":
        target = target / "fits.json"
    ensure_writable_dir(target.parent, "--out")  # refuse a bad --out before the fits, not after
    if workers is None:
        from eqscale.backends import free_cores

        workers = free_cores()
    result = analyse(table, n_bootstrap=n_bootstrap, seed=seed, workers=workers)
    write_json_atomic(target, result, note_non_finite=False)
    return result, target
