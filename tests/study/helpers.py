"""Helpers of the study tests: reading a run table for comparison."""

from __future__ import annotations

import csv
from pathlib import Path

# Columns that legitimately differ between two executions of the same run.
VOLATILE = {"wall_seconds", "placement"}  # where a scheduler ran it


def table(path: Path) -> dict[str, dict[str, str]]:
    """``runs.csv`` as {run_id: row}, without the volatile columns."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {r["run_id"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in rows}
