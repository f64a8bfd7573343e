"""``eqscale demo``: the whole pipeline at laptop scale, in one resumable command.

Stages: (1) generate the dataset, (2) run the compute and data studies, (3) fit the scaling
laws, (4) write the report. Everything lands in one directory laid out like a study directory
(``eqscale sweep ... --out DIR`` sees the same runs); run the command again to resume: finished
data shards and runs are reused, only the fits and the report are redone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from eqscale.locks import folder_lock
from eqscale.study.plan import plan_study
from eqscale.study.spec import load_study
from eqscale.study.sweep import ensure_dataset, run_sweep

STAGES = 4


def _stage(i: int, text: str, start: float) -> None:
    print(f"[{i}/{STAGES}] {text}  (elapsed {time.perf_counter() - start:.0f} s)", flush=True)


def run_demo(out: str = "demo", preset: str = "demo", workers: int | None = None) -> Path:
    """Data, both studies, fits and report under ``out``; returns the report's path. ``out``
    is locked meanwhile (:mod:`eqscale.locks`), like a sweep's study directory."""
    load_study(preset)  # an unknown preset is refused before any folder is made
    with folder_lock(out, "study directory"):
        return _run_demo(out, preset, workers)


def _run_demo(out: str, preset: str, workers: int | None) -> Path:
    from eqscale.scaling.analysis import fit_from_cli
    from eqscale.scaling.report import report_from_cli

    start = time.perf_counter()
    spec = load_study(preset)
    workers = workers or os.cpu_count() or 1
    study_dir = Path(out)
    runs = plan_study(spec)  # refuse an impossible study before generating anything
    n_compute = sum(r.kind == "compute" for r in runs)
    print(f"eqscale demo: study {spec.name!r} into {study_dir}/ ({n_compute} compute runs, "
          f"{len(runs) - n_compute} data runs, {workers} worker(s))", flush=True)

    _stage(1, f"dataset: {spec.data.n_train}/{spec.data.n_val}/{spec.data.n_test} "
              "train/val/test trajectories", start)
    data_dir = ensure_dataset(spec, study_dir / "data", generate=True, workers=workers)

    _stage(2, "training: compute (IsoFLOP) and data studies", start)
    summary = run_sweep(spec, study_dir, data_dir, backend="local", workers=workers)

    _stage(3, "fitting scaling laws", start)
    fit_from_cli(runs=str(summary.table), out=None, n_bootstrap=spec.bootstrap, seed=0,
                 workers=workers)

    _stage(4, "writing the report", start)
    paths = report_from_cli(runs=str(summary.table), out=str(study_dir / "report"),
                            n_bootstrap=spec.bootstrap, seed=0)
    elapsed = time.perf_counter() - start
    print(f"done in {elapsed:.0f} s ({elapsed / 60:.1f} min); "
          f"{len(summary.finished)} runs trained, {len(summary.skipped)} reused, "
          f"{len(summary.failed)} failed")
    print(f"report: {paths['html']} (Markdown: {paths['markdown']})")
    return Path(paths["html"])
