"""The learning-rate stage as the report shows it: per arm, validation loss against the rate.

A study's ``lr`` stage trains every arm (an architecture, with or without augmentation) at each
rate of a grid for a short, fixed horizon; the rate with the lowest best-validation loss is the
arm's pick, used by the compute and data studies. The sweep chooses with
:func:`pick_learning_rates` and records its choice in ``lr.json``; this module reads the same
runs back from ``runs.csv`` so that the report shows what the choice was based on.
"""

from __future__ import annotations

import math

import numpy as np

from eqscale.scaling.runtable import RunTable


def arm_name(model: str, augment: bool) -> str:
    """``gatr``, ``transformer``, ``transformer+augment``, ..."""
    return f"{model}+augment" if augment else model


def pick_learning_rates(results: dict[str, dict[float, float]]) -> dict[str, dict]:
    """Per arm, from ``{arm: {lr: best validation loss}}``: the grid, the losses, the pick
    (the lowest finite loss; ties to the smaller rate) and whether it lies on the grid's edge
    (a hint that the grid should be widened). Arms without any finite loss have no pick."""
    out: dict[str, dict] = {}
    for arm, losses in sorted(results.items()):
        grid = sorted(losses)
        finite = [lr for lr in grid if losses[lr] is not None and math.isfinite(losses[lr])]
        entry: dict = {"grid": grid, "val_loss": [losses[lr] for lr in grid], "pick": None,
                       "at_edge": False}
        if finite:
            pick = min(finite, key=lambda lr: (losses[lr], lr))
            entry["pick"] = pick
            entry["at_edge"] = len(grid) > 1 and pick in (grid[0], grid[-1])
        out[arm] = entry
    return out


def lr_summary(table: RunTable) -> dict:
    """The stage's grid and picks from the ``lr`` runs of a table (``{"ok": False}`` if none)."""
    stage = table.take(table.kind == "lr")
    if len(stage) == 0:
        return {"ok": False, "reason": "no learning-rate stage in this run table"}
    results: dict[str, dict[float, float]] = {}
    for model, augment, lr, val in zip(stage.model, stage.augment, stage.lr, stage.val_loss):
        if np.isfinite(lr):
            results.setdefault(arm_name(str(model), bool(augment)), {})[float(lr)] = float(val)
    return {"ok": True, "arms": pick_learning_rates(results)}


def lr_rows(result: dict) -> list[tuple[str, str, str, str]]:
    """Report rows (arm, "rate: validation loss" for the grid, pick, note) of a fits result."""
    stage = result.get("learning_rates", {})
    rows = []
    for arm, entry in stage.get("arms", {}).items() if stage.get("ok") else ():
        grid = ", ".join(f"{lr:.2g}: {val:.4g}" if val is not None and math.isfinite(val)
                         else f"{lr:.2g}: failed" for lr, val in zip(entry["grid"],
                                                                       entry["val_loss"]))
        pick = "-" if entry["pick"] is None else f"{entry['pick']:.2g}"
        note = "pick on the edge of the grid: widen it" if entry["at_edge"] else ""
        rows.append((arm, grid, pick, note))
    return rows
