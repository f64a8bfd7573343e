"""Where the runs stand against the constant-velocity reference (no torch, like all of scaling).

Every run's result carries the constant-velocity predictor's loss on the very samples its test
loss was measured on (``constant_velocity_loss``). Within one study those are the same samples,
so the table has one reference value; a model's *skill* is ``1 - L / L_cv``: the fraction of the
constant-velocity error it removes. A run that ends at or above the reference learned nothing a
one-line extrapolation does not already know. The rigid constant-velocity reference (each object
repeats its last rigid motion: the task models' prediction before training) is kept beside it
when the table has it.
"""

from __future__ import annotations

import numpy as np

from eqscale.scaling.runtable import RunTable

SPREAD_NOTE = 0.01  # relative spread of the runs' reference losses that earns a note


def reference_summary(table: RunTable) -> dict:
    """``{"ok", "constant_velocity_loss", "models": {model: best, ratio, skill, above}}``.

    ``best`` is the model's lowest test loss over its compute- and data-study runs, ``ratio``
    best / reference, ``above`` the ids of its runs whose loss is at or above the reference
    (their own reference value, when runs were tested on different samples).
    """
    runs = table.take(np.isin(table.kind, ("compute", "data")))
    cv = runs.cv_loss[np.isfinite(runs.cv_loss) & (runs.cv_loss > 0)]
    if cv.size == 0:
        return {"ok": False, "reason": "the run table has no constant_velocity_loss column "
                                       "(runs made before reference predictors were scored)"}
    reference = float(np.median(cv))
    out: dict = {"ok": True, "constant_velocity_loss": reference, "models": {}}
    rigid = runs.rigid_cv_loss[np.isfinite(runs.rigid_cv_loss) & (runs.rigid_cv_loss > 0)]
    if rigid.size:
        out["rigid_constant_velocity_loss"] = float(np.median(rigid))
    spread = float((cv.max() - cv.min()) / reference)
    if spread > SPREAD_NOTE:
        out["note"] = (f"runs were tested on different samples: their constant-velocity losses "
                       f"differ by {100 * spread:.0f}%; the median is shown")
    for model in runs.models:
        mine = runs.select(model=model)
        own_cv = np.where(np.isfinite(mine.cv_loss), mine.cv_loss, reference)
        best = int(np.argmin(mine.loss))
        above = mine.loss >= own_cv
        out["models"][model] = {
            "best": float(mine.loss[best]),
            "best_run": str(mine.run_id[best]),
            "ratio": float(mine.loss[best] / own_cv[best]),
            "skill": float(1.0 - mine.loss[best] / own_cv[best]),
            "n_runs": len(mine),
            "above": [str(r) for r in mine.run_id[above]],
        }
    return out
