"""``eqscale demo``: the whole pipeline at laptop scale, in one resumable command.

Stages: (1) generate the dataset, (2) run the compute and data studies, (3) fit the scaling
laws, (4) write the report. Everything lands in one directory laid out like a study directory
(``eqscale sweep ... --out DIR`` sees the same runs); run the command again to resume: finished
data shards and runs are reused, only the fits and the report are redone. Stage lines go to the
``eqscale`` logger (the command line shows them).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from eqscale.locks import folder_lock
from eqscale.study.plan import plan_study
from eqscale.study.presets import load_study
from eqscale.study.sweep import SweepSummary, ensure_dataset, refuse_crashes, run_sweep

STAGES = 4
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoResult:
    """What the demo made: the sweep's summary, the report's files, its wall time."""

    summary: SweepSummary
    report: Path  # report.html
    markdown: Path  # report.md
    result: dict  # the analysis the report draws (fits.json)
    seconds: float


def _stage(i: int, text: str, start: float) -> None:
    log.info(f"[{i}/{STAGES}] {text}  (elapsed {time.perf_counter() - start:.0f} s)")


def run_demo(out: str | Path = "demo", preset: str = "demo",
             workers: int | None = None) -> DemoResult:
    """Data, both studies, fits and report under ``out``. ``out`` is locked meanwhile
    (:mod:`eqscale.locks`), like a sweep's study directory."""
    load_study(preset)  # an unknown preset is refused before any folder is made
    with folder_lock(out, "study directory"):
        return _run_demo(Path(out), preset, workers)


def _run_demo(study_dir: Path, preset: str, workers: int | None) -> DemoResult:
    from eqscale.scaling.analysis import fit_runs
    from eqscale.scaling.report import make_report

    start = time.perf_counter()
    spec = load_study(preset)
    workers = workers or os.cpu_count() or 1
    runs = plan_study(spec)  # refuse an impossible study before generating anything
    n_compute = sum(r.kind == "compute" for r in runs)
    log.info(f"eqscale demo: study {spec.name!r} into {study_dir}/ ({n_compute} compute runs, "
             f"{len(runs) - n_compute} data runs, {workers} worker(s))")

    _stage(1, f"dataset: {spec.data.n_train}/{spec.data.n_val}/{spec.data.n_test} "
              "train/val/test trajectories", start)
    data_dir = ensure_dataset(spec, study_dir / "data", generate=True, workers=workers)

    _stage(2, "training: compute (IsoFLOP) and data studies", start)
    summary = run_sweep(spec, study_dir, data_dir, backend="local", workers=workers)
    refuse_crashes(summary, "eqscale demo")  # no fits on an incomplete study

    _stage(3, "fitting scaling laws", start)
    fit_runs(summary.table, n_bootstrap=spec.bootstrap, seed=0, workers=workers)

    _stage(4, "writing the report", start)
    report = make_report(summary.table, study_dir / "report", n_bootstrap=spec.bootstrap, seed=0)
    return DemoResult(summary, report.paths["html"], report.paths["markdown"], report.result,
                      time.perf_counter() - start)
