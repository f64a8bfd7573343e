"""The report's picture of what the models predict (docs/scaling.md, "The rollout picture").

For each architecture's best run (lowest test loss over its compute- and data-study runs):
the object tracks its training saved in ``rollout.json`` (:mod:`eqscale.rollouts`) for a few
test trajectories, seen from above, the true motion beside each architecture's autoregressive
rollout; and its rollout error against the prediction horizon, read from the run table's
``rollout_error_per_horizon``. Runs made before training saved the tracks have no file: the
tracks figure is then replaced by a note saying so (the error figure needs only the table).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eqscale.errors import EqscaleError
from eqscale.rollouts import ROLLOUT_FILE, read_rollout
from eqscale.scaling.runtable import RunTable, read_columns
from eqscale.scaling.style import (
    LOSS_UNIT,
    REFERENCE_COLOR,
    color,
    label,
    marker,
    new_figure,
    shared_legend,
)
from eqscale.study.runner import run_dir

MAX_TRAJECTORIES = 3
HORIZON_COLUMNS = ("rollout_error_per_horizon", "constant_velocity_rollout_error_per_horizon")


def best_runs(result: dict, table: RunTable) -> dict[str, tuple[str, float]]:
    """Model -> (run id, test loss) of its best compute- or data-study run, in the result's
    model order."""
    runs = table.take(np.isin(table.kind, ("compute", "data")))
    out = {}
    for model in result["models"]:
        mine = runs.select(model=model)
        if len(mine):
            i = int(np.argmin(mine.loss))
            out[model] = (str(mine.run_id[i]), float(mine.loss[i]))
    return out


def _study_dir(table: RunTable) -> Path:
    return Path(table.source).parent


def load_tracks(result: dict, table: RunTable) -> tuple[dict[str, dict], list[str]]:
    """The ``rollout.json`` of each model's best run, and what is missing, in words."""
    records, absent, broken = {}, [], []
    for model, (rid, _) in best_runs(result, table).items():
        path = run_dir(_study_dir(table), rid) / ROLLOUT_FILE
        try:
            records[model] = read_rollout(path)
        except FileNotFoundError:
            absent.append(f"{label(model, long=False)}'s best run {rid}")
        except EqscaleError as exc:
            broken.append(str(exc))
    if absent:
        absent = [f"{' and '.join(absent)} {'have' if len(absent) > 1 else 'has'} no "
                  f"{ROLLOUT_FILE} (made before training saved it; `eqscale evaluate --run "
                  "RUN_DIR --data DATA` on the run's own dataset writes it)"]
    return records, absent + broken


def _array(track: list) -> np.ndarray:
    return np.array([[[np.nan if v is None else v for v in p] for p in f] for f in track],
                    dtype=float)


def _plane(gravity: list[float]) -> tuple[np.ndarray, tuple[str, str]]:
    """Two axes spanning the plane perpendicular to gravity (x and y for the usual
    gravity along -z), and their labels."""
    g = np.asarray(gravity, dtype=float)
    g = g / np.linalg.norm(g) if np.linalg.norm(g) > 0 else np.array([0.0, 0.0, -1.0])
    if abs(abs(g[2]) - 1) < 1e-6:
        return np.eye(3)[:2], ("x [m]", "y [m]")
    u = np.eye(3)[0] - np.eye(3)[0] @ g * g
    if np.linalg.norm(u) < 1e-6:
        u = np.eye(3)[1] - np.eye(3)[1] @ g * g
    u /= np.linalg.norm(u)
    return np.stack([u, np.cross(g, u)]), ("horizontal axis 1 [m]", "horizontal axis 2 [m]")


def _shared_trajectories(records: dict[str, dict]) -> list[int]:
    first = [t["index"] for t in next(iter(records.values()))["trajectories"]]
    every = set(first)
    for rec in records.values():
        every &= {t["index"] for t in rec["trajectories"]}
    return [i for i in first if i in every][:MAX_TRAJECTORIES]


def _draw_tracks(ax, traj: dict, model: str) -> np.ndarray:
    """One panel: true tracks (black), the model's rollout (its colour), constant velocity
    (grey dotted). Returns the projected true and predicted points (for common limits)."""
    basis, (xl, yl) = _plane(traj["gravity"])
    true, pred, cv = (_array(traj[k]) @ basis.T for k in ("true", "predicted",
                                                          "constant_velocity"))
    c = color(model)
    for k in range(true.shape[1]):
        ax.plot(cv[1:, k, 0], cv[1:, k, 1], color=REFERENCE_COLOR, ls=":", lw=0.9, zorder=1)
        ax.plot(true[:, k, 0], true[:, k, 1], color="k", lw=1.3, zorder=2)
        ax.plot(pred[1:, k, 0], pred[1:, k, 1], color=c, lw=1.5, zorder=3)
    ax.scatter(true[1, :, 0], true[1, :, 1], s=14, color="k", zorder=4)
    ax.scatter(true[-1, :, 0], true[-1, :, 1], s=36, facecolor="white", edgecolor="k", lw=1.0,
               zorder=4)
    ax.scatter(pred[-1, :, 0], pred[-1, :, 1], s=36, marker=marker(model), color=c,
               edgecolor="k", lw=0.5, zorder=5)
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.grid(True, alpha=0.25)
    points = np.concatenate([true.reshape(-1, 2), pred.reshape(-1, 2)])
    return points[np.all(np.isfinite(points), axis=1)]


def _legend_proxies(ax, models: list[str], best: dict[str, tuple[str, float]]) -> None:
    """Legend entries drawn off-screen (the panels themselves carry no labels)."""
    nan = [np.nan]
    ax.plot(nan, nan, color="k", lw=1.3, marker="o", mfc="white", mec="k",
            label="true motion (hollow circle: where each object ends)")
    ax.scatter(nan, nan, s=14, color="k", label="frame 1: the last given frame")
    for model in models:
        rid, loss = best[model]
        ax.plot(nan, nan, color=color(model), lw=1.5, marker=marker(model), mec="k",
                label=f"{label(model, long=False)} rollout (best run {rid}, test loss "
                      f"{loss:.3g} {LOSS_UNIT})")
    ax.plot(nan, nan, color=REFERENCE_COLOR, ls=":", lw=0.9, label="constant velocity rollout")


def rollout_tracks(result: dict, table: RunTable):
    """Rows: up to three test trajectories; columns: architectures. Each panel shows the true
    object tracks with that architecture's rollout over them; or a note when no best run has
    its ``rollout.json``."""
    records, missing = load_tracks(result, table)
    if not records:
        return "No rollout picture: " + ("; ".join(missing) or "no finished runs") + "."
    shown = _shared_trajectories(records)
    if not shown:
        return "No rollout picture: the best runs tracked no test trajectory in common."
    models = list(records)
    best = best_runs(result, table)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0 * len(models), 4.4 * len(shown) + 0.4), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(len(shown), len(models), squeeze=False)
    for row, index in zip(grid, shown):
        points = []
        for ax, model in zip(row, models):
            traj = next(t for t in records[model]["trajectories"] if t["index"] == index)
            points.append(_draw_tracks(ax, traj, model))
            ax.set_title(f"{label(model, long=False)} rollout vs truth: test trajectory "
                         f"{index}", fontsize=10)
        both = np.concatenate(points)
        if both.size:  # one square window per row: true scale, the same in every panel
            centre = (both.min(axis=0) + both.max(axis=0)) / 2
            half = 0.53 * max(float(np.ptp(both, axis=0).max()), 1e-3)
            for ax in row:
                ax.set_xlim(centre[0] - half, centre[0] + half)
                ax.set_ylim(centre[1] - half, centre[1] + half)
                ax.set_aspect("equal", adjustable="box")
    _legend_proxies(grid[0][0], models, best)
    shared_legend(fig, [grid[0][0]], ncols=1)
    fig.suptitle("Top view of each object's centroid: frames 0 and 1 given, every later frame "
                 "predicted from the two before it", fontsize=10)
    return (fig, "; ".join(missing) + ".") if missing else fig


def _per_horizon(cell: str) -> np.ndarray | None:
    try:
        values = json.loads(cell) if cell else None
    except ValueError:
        return None
    if not isinstance(values, list) or not values:
        return None
    return np.array([np.nan if v is None else float(v) for v in values])


def rollout_error(result: dict, table: RunTable):
    """Each architecture's best run: rollout error against horizon, beside constant velocity
    rolled out on the same trajectories."""
    best = best_runs(result, table)
    cells = read_columns(table.source, [rid for rid, _ in best.values()], HORIZON_COLUMNS)
    fig, (ax,) = new_figure()
    reference = None
    drawn = 0
    for model, (rid, _) in best.items():
        err = _per_horizon(cells.get(rid, {}).get(HORIZON_COLUMNS[0], ""))
        if err is None:
            continue
        h = np.arange(1, err.size + 1)
        ax.plot(h, err, color=color(model), marker=marker(model), ms=5, mec="k", mew=0.4,
                lw=1.5, label=f"{label(model)}: best run {rid}")
        drawn += 1
        if reference is None:
            reference = _per_horizon(cells[rid].get(HORIZON_COLUMNS[1], ""))
    if not drawn:
        return ("No rollout-error figure: the run table has no rollout_error_per_horizon for "
                "the best runs.")
    if reference is not None:
        ax.plot(np.arange(1, reference.size + 1), reference, color=REFERENCE_COLOR, ls="-.",
                lw=1.2, label="constant velocity (reference), same trajectories")
    rates = {rec.get("frame_rate") for rec in load_tracks(result, table)[0].values()} - {None}
    per = f", 1/{rates.pop():g} s each" if len(rates) == 1 else ""
    ax.set_xlabel(f"prediction horizon h [frames ahead of the last given frame{per}]")
    ax.set_ylabel(f"rollout error [{LOSS_UNIT}]")
    ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.12)
    ax.set_title("Rollout error against horizon (best run of each architecture)")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig
