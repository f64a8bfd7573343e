"""``eqscale sweep plan|run|status``: plan a study, run it on a backend, show where it stands.

A study directory holds ``study.json`` (the spec), ``data/`` (the default dataset),
``runs/<run_id>/`` (one training run directory each) and ``runs.csv`` (the collected table).
``run`` is resumable: finished runs are skipped, failed ones listed and not retried (a
non-finite loss would recur), interrupted ones resumed from their checkpoints, and runs whose
task crashed retried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eqscale.backends import make_backend
from eqscale.errors import EqscaleError
from eqscale.study.collect import collect_study
from eqscale.study.plan import RunSpec, batch_size, plan_study, run_id, train_config
from eqscale.study.runner import (
    SWEEP_ERROR,
    RunTask,
    execute_run,
    read_result,
    run_dir,
    run_state,
    write_json_atomic,
)
from eqscale.study.spec import StudySpec, load_study


@dataclass
class SweepSummary:
    """What a ``run`` did: run ids by outcome, and the run table it wrote."""

    skipped: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # run id -> reason
    table: Path | None = None


def ensure_dataset(spec: StudySpec, data_dir: Path, generate: bool, backend: str = "local",
                   workers: int = 1, ray_address: str | None = None) -> Path:
    """The study's dataset: generated (or resumed) when ``generate``, else it must exist."""
    if generate:
        from eqscale.data.generate import generate_dataset

        d = spec.data
        generate_dataset(out=str(data_dir), n_train=d.n_train, n_val=d.n_val, n_test=d.n_test,
                         seed=d.seed, workers=workers, shapes=d.shapes,
                         faces_per_object=d.faces_per_object, shard_size=d.shard_size,
                         backend=backend, ray_address=ray_address)
    if not (data_dir / "manifest.json").is_file():
        raise EqscaleError(f"no dataset at {data_dir} (manifest.json missing); "
                           "create it with `eqscale generate` or omit --data")
    return data_dir


def plan_table(spec: StudySpec, study_dir: Path, runs: list[RunSpec]) -> str:
    """A text table of the planned runs with their state and, when finished, results."""
    from eqscale.models.sizes import parameter_count

    bs = batch_size(spec)
    header = (f"{'run_id':<48} {'state':<9} {'params':>9} {'steps':>7} {'samples':>9} "
              f"{'test_loss':>10}")
    lines = [header, "-" * len(header)]
    for run in runs:
        rid = run_id(run, spec)
        path = run_dir(study_dir, rid)
        state = run_state(path)
        result = read_result(path) or {}
        steps = result.get("steps", run.steps)
        loss = result.get("test_loss")
        loss_text = f"{loss:.4g}" if isinstance(loss, (int, float)) else "-"
        samples = steps * bs if isinstance(steps, int) else "-"
        n = parameter_count(run.model, run.size)
        lines.append(f"{rid:<48} {state:<9} {n:>9} {steps!s:>7} {samples!s:>9} {loss_text:>10}")
    counts: dict[str, int] = {}
    for run in runs:
        s = run_state(run_dir(study_dir, run_id(run, spec)))
        counts[s] = counts.get(s, 0) + 1
    lines.append(f"{len(runs)} runs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "\n".join(lines)


def run_sweep(spec: StudySpec, study_dir: str | Path, data_dir: str | Path | None = None,
              backend: str = "local", workers: int = 1, ray_address: str | None = None,
              threads: int | None = None, quiet: bool = False) -> SweepSummary:
    """Run every unfinished run of ``spec``; collect ``runs.csv`` after each completed run."""
    from tqdm import tqdm

    study_dir = Path(study_dir)
    runs = plan_study(spec)
    data = ensure_dataset(spec, Path(data_dir) if data_dir else study_dir / "data",
                          generate=data_dir is None, backend=backend, workers=workers,
                          ray_address=ray_address)
    write_json_atomic(study_dir / "study.json", spec.to_dict())
    summary = SweepSummary()
    todo: list[RunTask] = []
    executor = make_backend(backend, workers=workers, threads=threads, ray_address=ray_address)
    for run in runs:
        rid = run_id(run, spec)
        path = run_dir(study_dir, rid)
        state = run_state(path)
        if state == "finished":
            summary.skipped.append(rid)
        elif state == "failed":
            summary.failed[rid] = str((read_result(path) or {}).get("reason", "failed"))
        else:
            (path / SWEEP_ERROR).unlink(missing_ok=True)
            config = train_config(run, spec).to_dict()
            todo.append(RunTask(rid, config, str(data), str(path), executor.threads))
    if not quiet:
        print(f"study {spec.name}: {len(runs)} runs, {len(summary.skipped)} already finished, "
              f"{len(summary.failed)} failed earlier, {len(todo)} to run "
              f"({backend}, {workers} worker(s) x {executor.threads} thread(s))", flush=True)
    summary.table = collect_study(spec, study_dir, runs)
    if todo:
        with executor, tqdm(total=len(todo), desc=f"sweep {spec.name}", unit="run",
                            disable=quiet) as bar:
            for outcome in executor.map_unordered(execute_run, todo):
                task = todo[outcome.index]
                result: dict[str, Any] = outcome.value or {}
                if not outcome.ok:
                    write_json_atomic(Path(task.run_dir) / SWEEP_ERROR, {"error": outcome.error})
                    summary.failed[task.run_id] = str(outcome.error)
                elif result.get("status") == "finished":
                    summary.finished.append(task.run_id)
                else:
                    summary.failed[task.run_id] = str(result.get("reason", "failed"))
                summary.table = collect_study(spec, study_dir, runs)
                loss = result.get("test_loss")
                note = f"test loss {loss:.4g}" if isinstance(loss, (int, float)) else "FAILED"
                if not quiet:
                    bar.write(f"  {task.run_id}: {note}")
                bar.update(1)
    if not quiet:
        print(f"run table: {summary.table}")
        for rid, reason in summary.failed.items():
            print(f"failed: {rid}: {reason}")
    return summary


def sweep_from_cli(action: str, study: str, out: str, data: str | None, backend: str,
                   workers: int, ray_address: str | None) -> SweepSummary | None:
    """Entry point of ``eqscale sweep`` (see cli.py)."""
    spec = load_study(study)
    study_dir = Path(out)
    if action == "plan":
        runs = plan_study(spec)
        print(f"study {spec.name}: {spec.description}".rstrip(": "))
        print(plan_table(spec, study_dir, runs))
        return None
    if action == "status":
        runs = plan_study(spec)
        print(plan_table(spec, study_dir, runs))
        return None
    if action == "run":
        start = time.perf_counter()
        summary = run_sweep(spec, study_dir, data, backend, workers, ray_address)
        print(f"sweep took {time.perf_counter() - start:.0f} s; "
              f"{len(summary.finished)} trained, {len(summary.skipped)} skipped, "
              f"{len(summary.failed)} failed")
        return summary
    raise EqscaleError(f"unknown sweep action {action!r}; choose plan, run or status")
