"""Collection: every ``result.json`` of a study into one run table, ``runs.csv``.

The table is the only input of the fits (docs/interfaces.md, "study -> scaling"): one row per
run that has a result (finished or failed), the keys of ``result.json`` plus ``study``,
``run_id`` and ``kind``. Booleans are written ``true``/``false``, missing values as empty cells,
lists and dicts as JSON. The file is replaced atomically, so a reader never sees half of it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from eqscale.atomic import write_text_atomic
from eqscale.study.plan import RunSpec, run_id
from eqscale.study.runner import read_result, run_dir
from eqscale.study.spec import StudySpec

ID_COLUMNS = ("study", "run_id", "kind")
RESULT_COLUMNS = (
    "model", "size", "N", "D", "steps", "batch_size", "budget", "budget_convention",
    "flops_nominal", "flops_executed", "wall_seconds", "device", "lr", "best_val_loss",
    "test_loss", "constant_velocity_loss", "rigid_constant_velocity_loss", "no_motion_loss",
    "skill", "rollout_error",
    "constant_velocity_rollout_error", "equivariance_error", "augment", "train_subset", "seed",
    "status", "reason",
)
RUNS_CSV = "runs.csv"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def collect_rows(spec: StudySpec, study_dir: Path, runs: list[RunSpec]) -> list[dict[str, str]]:
    """One row per planned run that has a ``result.json``, in plan order."""
    rows = []
    for run in runs:
        if run.awaits_lr:
            continue
        rid = run_id(run, spec)
        result = read_result(run_dir(study_dir, rid))
        if result is None:
            continue
        row = {"study": spec.name, "run_id": rid, "kind": run.kind}
        row.update({k: _cell(v) for k, v in result.items() if k not in ID_COLUMNS})
        rows.append(row)
    return rows


def write_runs_csv(rows: list[dict[str, str]], path: Path) -> Path:
    """Write the table atomically; the interface columns first, any extra keys after them."""
    extra = sorted({k for r in rows for k in r} - set(ID_COLUMNS) - set(RESULT_COLUMNS))
    columns = [*ID_COLUMNS, *RESULT_COLUMNS, *extra]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())
    return path


def collect_study(spec: StudySpec, study_dir: Path, runs: list[RunSpec]) -> Path:
    """Collect the study's results into ``study_dir/runs.csv``; returns its path."""
    return write_runs_csv(collect_rows(spec, study_dir, runs), study_dir / RUNS_CSV)
