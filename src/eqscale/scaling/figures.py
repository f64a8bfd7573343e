"""The report's figures (SPEC 7), drawn from the analysis result and the run table.

Each function returns a matplotlib ``Figure`` rendered with the Agg canvas (no display, no
pyplot state); :func:`render_figures` turns them all into PNG bytes.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from eqscale.scaling.runtable import RunTable

COLORS = {"gatr": "#1f5fa8", "transformer": "#d9731a"}
AUG_COLOR = "#3a9d4a"
LABELS = {"gatr": "GATr (equivariant)", "transformer": "Transformer"}


def _figure(ncols: int = 1, width: float = 6.4):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols if ncols > 1 else width, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _color(model: str, index: int) -> str:
    return COLORS.get(model, f"C{index + 2}")


def _label(model: str) -> str:
    return LABELS.get(model, model)


def _law_text(fit: dict, var: str) -> str:
    p = fit["params"]
    head = f"{p['E']:.3g} + " if "E" in p else ""
    return f"{head}{p['A']:.3g} {var}^{p['exponent']:.3f}"


def identified(fit: dict) -> bool:
    """A fit is drawn as a law only when the analysis did not flag it (older results carry no
    flag and count as identified)."""
    return bool(fit.get("ok")) and fit.get("identified", True)


def _draw_law(ax, fit: dict, color: str, var: str, dashed: bool = False) -> None:
    """Fitted curve, its bootstrap band when present, and the law in the legend. A fit not
    identified at this scale is drawn thin and dotted, without band, and labelled so."""
    if not fit.get("ok") or "curve" not in fit:
        return
    c = fit["curve"]
    if not identified(fit):
        ax.plot(c["x"], c["y"], color=color, ls=":", lw=1.0, alpha=0.7,
                label=f"not identified at this scale: {_law_text(fit, var)}")
        return
    ax.plot(c["x"], c["y"], color=color, ls="--" if dashed else "-", lw=1.6,
            label=f"fit {_law_text(fit, var)}")
    if "lo" in c and not dashed:
        ax.fill_between(c["x"], c["lo"], c["hi"], color=color, alpha=0.18, lw=0)


REFERENCE_COLOR = "0.35"


def _draw_reference(ax, result: dict) -> None:
    """The constant-velocity losses as labelled horizontal lines (when the table has them)."""
    ref = result.get("reference", {})
    if ref.get("ok"):
        ax.axhline(ref["constant_velocity_loss"], color=REFERENCE_COLOR, ls="-.", lw=1.1,
                   label=f"constant velocity (reference): {ref['constant_velocity_loss']:.3g}",
                   zorder=1)
        if "rigid_constant_velocity_loss" in ref:
            ax.axhline(ref["rigid_constant_velocity_loss"], color=REFERENCE_COLOR, ls=":",
                       lw=1.1, zorder=1, label="rigid constant velocity (untrained models): "
                       f"{ref['rigid_constant_velocity_loss']:.3g}")


def _finish(ax, xlabel: str, ylabel: str = "test loss", logy: bool = True,
            empty: str = "not enough runs for this figure") -> None:
    """Log axes, labels, grid and legend; an axes with nothing to draw says so instead (a log
    scale on empty axes would fail)."""
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
    ax.grid(True, which="both", alpha=0.25)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7 if ax.figure.get_figwidth() < 7 else 6)


def loss_vs_compute(result: dict, table: RunTable):
    """All compute-study runs, the per-budget best (frontier) and the fitted L(C) with band."""
    fig, (ax,) = _figure()
    for i, (model, res) in enumerate(result["models"].items()):
        color = _color(model, i)
        runs = table.select(model=model, kind="compute")
        ax.scatter(runs.flops, runs.loss, s=14, color=color, alpha=0.35, lw=0)
        pts = res["frontier"]["points"]
        ax.scatter(pts["C"], pts["L"], s=40, color=color, edgecolor="k", lw=0.6,
                   label=f"{_label(model)}: best run per budget", zorder=3)
        _draw_law(ax, res["frontier"]["power_law"], color, "C")
        _draw_law(ax, res["frontier"]["offset_law"], color, "C", dashed=True)
    if len(table.select(kind="compute")):
        _draw_reference(ax, result)
    _finish(ax, f"training compute C [FLOPs, {table.compute_column.split('_')[-1]}]",
            empty="no compute-study runs")
    ax.set_title("Loss vs compute (bands: 95% run-level bootstrap)")
    return fig


def loss_vs_wall_clock(result: dict, table: RunTable):
    """The same frontier against wall-clock seconds: does the advantage per FLOP survive?"""
    fig, (ax,) = _figure()
    for i, (model, res) in enumerate(result["models"].items()):
        color = _color(model, i)
        runs = table.select(model=model, kind="compute")
        ax.scatter(runs.wall_seconds, runs.loss, s=14, color=color, alpha=0.35, lw=0)
        pts = res["wall_frontier"]["points"]
        ax.scatter(pts["seconds"], pts["L"], s=40, color=color, edgecolor="k", lw=0.6,
                   label=f"{_label(model)}: Pareto front", zorder=3)
        _draw_law(ax, res["wall_frontier"]["power_law"], color, "s")
    if len(table.select(kind="compute")):
        _draw_reference(ax, result)
    _finish(ax, "training wall-clock time [s]", empty="no timed compute-study runs")
    ax.set_title("Loss vs wall-clock time")
    return fig


def loss_vs_data(result: dict, table: RunTable):
    """Data study: best loss per training-set size, with and without augmentation."""
    fig, (ax,) = _figure()
    for i, (model, res) in enumerate(result["models"].items()):
        for label, node in res["data"].items():
            aug = label == "augment"
            color = AUG_COLOR if aug else _color(model, i)
            name = _label(model) + (" + augmentation" if aug else "")
            pts = node.get("points", {})
            if not pts:
                continue
            ax.scatter(pts["n_train"], pts["L"], s=36, color=color, edgecolor="k", lw=0.6,
                       marker="s" if aug else "o", label=name, zorder=3)
            law = node["offset_law"] if identified(node["offset_law"]) else node["power_law"]
            _draw_law(ax, law, color, "n")
    if len(table.select(kind="data")):
        _draw_reference(ax, result)
    _finish(ax, "training-set size n [trajectories]", empty="no data-study runs")
    ax.set_title("Loss vs training data")
    return fig


def isoflop_curves(result: dict, table: RunTable):
    """Per model: loss against N at each budget, the fitted parabola and its minimum."""
    models = list(result["models"])
    fig, axes = _figure(ncols=max(1, len(models)), width=4.8)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    for ax, model in zip(axes, models):
        minima = result["models"][model]["isoflop"]["minima"]
        for j, m in enumerate(minima):
            color = cmap(j / max(1, len(minima) - 1))
            N, L = np.array(m["N"]), np.array(m["L"])
            ax.scatter(N, L, s=18, color=color, label=f"C = {m['budget']:.2g}")
            if np.unique(N).size >= 3:
                c2, c1, c0 = np.polyfit(np.log(N), L, 2)
                grid = np.geomspace(N.min(), N.max(), 50)
                ax.plot(grid, c0 + c1 * np.log(grid) + c2 * np.log(grid) ** 2, color=color,
                        lw=1)
            elif N.size >= 2:  # too few sizes for a parabola: just join the points
                order = np.argsort(N)
                ax.plot(N[order], L[order], color=color, lw=0.8, ls=":")
            if m.get("ok"):
                ax.scatter([m["N_opt"]], [m["L_min"]], marker="*", s=140, color=color,
                           edgecolor="k", lw=0.6, zorder=4)
        if minima:
            _draw_reference(ax, result)
        _finish(ax, "parameters N", logy=False, empty="no compute-study runs")
        ax.set_title(f"IsoFLOP: {_label(model)} (star: minimum)", fontsize=10)
    return fig


def compute_optimal(result: dict, table: RunTable):
    """N_opt and D_opt against C: IsoFLOP minima with their power laws (solid) and the
    allocation solved on the fitted L(N, D) with the measured cost model (dashed)."""
    fig, axes = _figure(ncols=2, width=4.8)
    for i, (model, res) in enumerate(result["models"].items()):
        color = _color(model, i)
        iso, par = res["isoflop"], res["parametric"]
        good = [m for m in iso["minima"] if m.get("ok") and "D_opt" in m]
        budgets = [m["budget"] for m in good]
        all_budgets = [m["budget"] for m in iso["minima"]]
        for ax, key in zip(axes, ("N_opt", "D_opt")):
            if good:
                ax.scatter(budgets, [m[key] for m in good], s=40, color=color, edgecolor="k",
                           lw=0.6, label=f"{_label(model)}: IsoFLOP minima", zorder=3)
            if iso[key].get("ok") and len(budgets) >= 2:
                C = np.geomspace(min(budgets), max(budgets), 20)
                p = iso[key]["params"]
                ax.plot(C, p["A"] * C ** p["exponent"], color=color,
                        label=f"{_label(model)}: IsoFLOP law C^{p['exponent']:.2f}")
            al, cost = par["allocation"], res["cost_model"]
            if al.get("ok") and cost.get("ok") and all_budgets:
                C = np.geomspace(min(all_budgets), max(all_budgets), 20)
                n = al["params"]["G"] * C ** al["params"]["a"]
                y = n if key == "N_opt" else C / (cost["params"]["k"] * n ** cost["params"]["p"])
                exp = al["params"]["a" if key == "N_opt" else "b"]
                if identified(al):
                    ax.plot(C, y, color=color, ls="--",
                            label=f"{_label(model)}: L(N, D) optimum C^{exp:.2f}")
                else:
                    ax.plot(C, y, color=color, ls=":", lw=1.0, alpha=0.7,
                            label=f"{_label(model)}: L(N, D) optimum C^{exp:.2f} "
                                  "(not identified at this scale)")
    for ax, what in zip(axes, ("compute-optimal parameters N_opt",
                               "compute-optimal samples D_opt")):
        _finish(ax, "training compute C [FLOPs]", what,
                empty="no IsoFLOP minimum and no L(N, D) allocation\non this table "
                      "(reasons in the coefficient table)")
    axes[0].set_title("Compute-optimal model size", fontsize=10)
    axes[1].set_title("Compute-optimal training samples", fontsize=10)
    return fig


FIGURES = (
    ("loss_vs_compute", "Loss vs compute, frontier and bootstrap bands", loss_vs_compute),
    ("loss_vs_wall_clock", "Loss vs wall-clock time", loss_vs_wall_clock),
    ("loss_vs_data", "Loss vs training data, with and without augmentation", loss_vs_data),
    ("isoflop", "IsoFLOP curves", isoflop_curves),
    ("compute_optimal", "Compute-optimal N and D vs compute", compute_optimal),
)


def render_figures(result: dict, table: RunTable) -> list[tuple[str, str, bytes]]:
    """(name, title, PNG bytes) for every figure of the report."""
    out: list[tuple[str, str, bytes]] = []
    for name, title, draw in FIGURES:
        fig: Any = draw(result, table)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        out.append((name, title, buf.getvalue()))
    return out
