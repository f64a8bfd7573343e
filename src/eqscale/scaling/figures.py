"""The report's figures (docs/scaling.md), drawn from the analysis result and the run table.

Each function returns a matplotlib ``Figure`` rendered with the Agg canvas (no display, no
pyplot state), or a one-line note when the table holds nothing to draw;
:func:`render_figures` turns them all into PNG bytes. The shared look (colours, markers,
legends, readable ticks, units) is :mod:`eqscale.scaling.style`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from eqscale.scaling import rollout_figures
from eqscale.scaling.runtable import RunTable
from eqscale.scaling.style import (
    LOSS_LABEL,
    color,
    draw_reference,
    label,
    legends_below,
    marker,
    new_figure,
    readable_log_ticks,
    shades,
    shared_legend,
    tick_text,
)


def _law_text(fit: dict, var: str) -> str:
    p = fit["params"]
    head = f"{p['E']:.3g} + " if "E" in p else ""
    return f"{head}{p['A']:.3g} {var}^{p['exponent']:.3f}"


def identified(fit: dict) -> bool:
    """A fit is drawn as a law only when the analysis did not flag it (older results carry no
    flag and count as identified)."""
    return bool(fit.get("ok")) and fit.get("identified", True)


def _draw_law(ax, fit: dict, color: str, var: str, offset: bool = False,
              who: str = "", ls: str = "-") -> None:
    """Fitted curve, its bootstrap band when present, and the law in the legend (``who``
    names the curve's owner). An offset law is dashed without band; a fit not identified at
    this scale is drawn thin and dotted, without band, and labelled so."""
    if not fit.get("ok") or "curve" not in fit:
        return
    c = fit["curve"]
    if not identified(fit):
        what = "offset law" if offset else "fit"
        ax.plot(c["x"], c["y"], color=color, ls=":", lw=1.0, alpha=0.7,
                label=f"{who}{what} not identified at this scale")
        return
    ax.plot(c["x"], c["y"], color=color, ls="--" if offset else ls, lw=1.6,
            label=f"{who}fit {_law_text(fit, var)}")
    if "lo" in c and not offset:
        ax.fill_between(c["x"], c["lo"], c["hi"], color=color, alpha=0.18, lw=0)


def _finish(ax, xlabel: str, ylabel: str = LOSS_LABEL, logy: bool = True,
            empty: str = "not enough runs for this figure") -> None:
    """Log axes, labels and grid; an axes with nothing to draw says so instead (a log scale on
    empty axes would fail). Legends and ticks are placed by :func:`render_figures`."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    lim = ax.dataLim
    if not (np.all(np.isfinite([lim.x0, lim.x1, lim.y0, lim.y1])) and lim.x1 > 0 and lim.y1 > 0):
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes,
                color="0.4", wrap=True)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.12)


def _points(ax, x, y, model: str, text: str, hollow: bool = False, s: float = 44) -> None:
    """An architecture's key points: its colour and marker, black edge (hollow: white face)."""
    c = color(model)
    ax.scatter(x, y, s=s, marker=marker(model), color="white" if hollow else c,
               edgecolor=c if hollow else "k", lw=1.2 if hollow else 0.6, label=text, zorder=3)


def _all_runs(ax, x, y, model: str) -> None:
    if len(x):
        ax.scatter(x, y, s=16, marker=marker(model), color=color(model), alpha=0.3, lw=0,
                   label=f"{label(model, long=False)}: every run")


def loss_vs_compute(result: dict, table: RunTable):
    """All compute-study runs, the per-budget best (frontier) and the fitted L(C) with band."""
    fig, (ax,) = new_figure()
    for model, res in result["models"].items():
        runs = table.select(model=model, kind="compute")
        _all_runs(ax, runs.flops, runs.loss, model)
        pts = res["frontier"]["points"]
        _points(ax, pts["C"], pts["L"], model, f"{label(model)}: best run per budget")
        who = f"{label(model, long=False)}: "
        _draw_law(ax, res["frontier"]["power_law"], color(model), "C", who=who)
        _draw_law(ax, res["frontier"]["offset_law"], color(model), "C", offset=True, who=who)
    if len(table.select(kind="compute")):
        draw_reference(ax, result)
    _finish(ax, f"training compute C [FLOPs, {table.compute_column.split('_')[-1]}]",
            empty="no compute-study runs")
    ax.set_title("Loss vs compute (bands: 95% run-level bootstrap)")
    return fig


def loss_vs_wall_clock(result: dict, table: RunTable):
    """The same frontier against wall-clock seconds: does the advantage per FLOP survive?"""
    fig, (ax,) = new_figure()
    for model, res in result["models"].items():
        runs = table.select(model=model, kind="compute")
        _all_runs(ax, runs.wall_seconds, runs.loss, model)
        pts = res["wall_frontier"]["points"]
        _points(ax, pts["seconds"], pts["L"], model, f"{label(model)}: Pareto front")
        _draw_law(ax, res["wall_frontier"]["power_law"], color(model), "s",
                  who=f"{label(model, long=False)}: ")
    if len(table.select(kind="compute")):
        draw_reference(ax, result)
    _finish(ax, "training wall-clock time [s]", empty="no timed compute-study runs")
    ax.set_title("Loss vs wall-clock time")
    return fig


def loss_vs_data(result: dict, table: RunTable):
    """Data study: best loss per training-set size, with and without augmentation."""
    fig, (ax,) = new_figure()
    for model, res in result["models"].items():
        for arm, node in res["data"].items():
            aug = arm == "augment"
            name = label(model) + (" + augmentation (hollow, dashed)" if aug else "")
            pts = node.get("points", {})
            if not pts:
                continue
            _points(ax, pts["n_train"], pts["L"], model, name, hollow=aug)
            law = node["offset_law"] if identified(node["offset_law"]) else node["power_law"]
            who = label(model, long=False) + (" + augmentation" if aug else "") + ": "
            _draw_law(ax, law, color(model), "n", who=who, ls="--" if aug else "-")
    if len(table.select(kind="data")):
        draw_reference(ax, result)
    _finish(ax, "training-set size n [trajectories]", empty="no data-study runs")
    ax.set_title("Loss vs training data")
    return fig


def isoflop_curves(result: dict, table: RunTable):
    """Per model: loss against N at each budget, the fitted parabola and its minimum."""
    models = list(result["models"])
    fig, axes = new_figure(ncols=max(1, len(models)), width=5.0)
    for ax, model in zip(axes, models):
        minima = result["models"][model]["isoflop"]["minima"]
        tints = shades(color(model), len(minima))
        for j, m in enumerate(minima):
            color_j = tints[j]
            N, L = np.array(m["N"]), np.array(m["L"])
            ax.scatter(N, L, s=22, color=color_j, marker=marker(model), edgecolor="k", lw=0.3,
                       label=f"C = {tick_text(m['budget'])} FLOPs")
            if np.unique(N).size >= 3:
                c2, c1, c0 = np.polyfit(np.log(N), L, 2)
                grid = np.geomspace(N.min(), N.max(), 50)
                ax.plot(grid, c0 + c1 * np.log(grid) + c2 * np.log(grid) ** 2, color=color_j,
                        lw=1.2)
            elif N.size >= 2:  # too few sizes for a parabola: just join the points
                order = np.argsort(N)
                ax.plot(N[order], L[order], color=color_j, lw=0.8, ls=":")
            if m.get("ok"):
                ax.scatter([m["N_opt"]], [m["L_min"]], marker="*", s=150, color=color_j,
                           edgecolor="k", lw=0.6, zorder=4)
        if minima:
            draw_reference(ax, result)
        _finish(ax, "model size N [parameters]", logy=False, empty="no compute-study runs")
        ax.set_title(f"IsoFLOP: {label(model)} (star: minimum)", fontsize=10)
    return fig


def compute_optimal(result: dict, table: RunTable):
    """N_opt and D_opt against C: IsoFLOP minima with their power laws (solid) and the
    allocation solved on the fitted L(N, D) with the measured cost model (dashed)."""
    fig, axes = new_figure(ncols=2, width=5.0)
    for model, res in result["models"].items():
        c, name = color(model), label(model)
        iso, par = res["isoflop"], res["parametric"]
        good = [m for m in iso["minima"] if m.get("ok") and "D_opt" in m]
        budgets = [m["budget"] for m in good]
        all_budgets = [m["budget"] for m in iso["minima"]]
        for ax, key in zip(axes, ("N_opt", "D_opt")):
            if good:
                _points(ax, budgets, [m[key] for m in good], model, f"{name}: IsoFLOP minima")
            if iso[key].get("ok") and len(budgets) >= 2:
                C = np.geomspace(min(budgets), max(budgets), 20)
                p = iso[key]["params"]
                ax.plot(C, p["A"] * C ** p["exponent"], color=c,
                        label=f"{name}: IsoFLOP law C^{p['exponent']:.2f}")
            al, cost = par["allocation"], res["cost_model"]
            if al.get("ok") and cost.get("ok") and all_budgets:
                C = np.geomspace(min(all_budgets), max(all_budgets), 20)
                n = al["params"]["G"] * C ** al["params"]["a"]
                y = n if key == "N_opt" else C / (cost["params"]["k"] * n ** cost["params"]["p"])
                exp = al["params"]["a" if key == "N_opt" else "b"]
                if identified(al):
                    ax.plot(C, y, color=c, ls="--",
                            label=f"{name}: L(N, D) optimum C^{exp:.2f}")
                else:
                    ax.plot(C, y, color=c, ls=":", lw=1.0, alpha=0.7,
                            label=f"{name}: L(N, D) optimum C^{exp:.2f} "
                                  "(not identified at this scale)")
    for ax, what in zip(axes, ("compute-optimal size N_opt [parameters]",
                               "compute-optimal data D_opt [samples]")):
        _finish(ax, "training compute C [FLOPs]", what,
                empty="no IsoFLOP minimum and no L(N, D) allocation\non this table "
                      "(reasons in the coefficient table)")
    axes[0].set_title("Compute-optimal model size", fontsize=10)
    axes[1].set_title("Compute-optimal training samples", fontsize=10)
    shared_legend(fig, axes)
    return fig


FIGURES = (
    ("loss_vs_compute", "Loss vs compute, frontier and bootstrap bands", loss_vs_compute),
    ("loss_vs_wall_clock", "Loss vs wall-clock time", loss_vs_wall_clock),
    ("loss_vs_data", "Loss vs training data, with and without augmentation", loss_vs_data),
    ("isoflop", "IsoFLOP curves", isoflop_curves),
    ("compute_optimal", "Compute-optimal N and D vs compute", compute_optimal),
    ("rollout_tracks", "What the models predict: true object tracks beside each architecture's "
                       "autoregressive rollout (top view)", rollout_figures.rollout_tracks),
    ("rollout_error", "Rollout error against prediction horizon",
     rollout_figures.rollout_error),
)


DPI = 110


class Rendered(NamedTuple):
    """One figure of the report: ``png`` bytes, or None and a ``note`` saying why not."""

    name: str
    title: str
    png: bytes | None
    note: str = ""


def draw_figures(result: dict, table: RunTable) -> Iterator[tuple[str, str, Any, str]]:
    """``(name, title, figure, note)`` in :data:`FIGURES` order: each figure finished (readable
    ticks, legends below the data), or None with the note saying why there is none."""
    for name, title, draw in FIGURES:
        fig: Any = draw(result, table)
        note = ""
        if isinstance(fig, tuple):  # drawn, with a note (e.g. one architecture missing)
            fig, note = fig
        if isinstance(fig, str):
            yield name, title, None, fig
            continue
        readable_log_ticks(fig)
        legends_below(fig)
        readable_log_ticks(fig)  # again: the legends took room from the axes
        yield name, title, fig, note


def render_figures(result: dict, table: RunTable) -> list[Rendered]:
    """Every figure of the report as PNG bytes; a figure with nothing to draw is a note."""
    out: list[Rendered] = []
    for name, title, fig, note in draw_figures(result, table):
        if fig is None:
            out.append(Rendered(name, title, None, note))
            continue
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
        out.append(Rendered(name, title, buf.getvalue(), note))
    return out
