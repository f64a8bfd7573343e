"""``eqscale sweep plan|run|status``: plan a study, run it on a backend, show where it stands.

A study directory holds ``study.json`` (the spec), ``data/`` (the default dataset),
``runs/<run_id>/`` (one training run directory each), ``lr.json`` (the learning-rate stage's
picks, when the study has one) and ``runs.csv`` (the collected table).
``run`` is resumable: finished runs are skipped, failed ones listed and not retried (a
non-finite loss would recur), interrupted ones resumed from their checkpoints, and runs whose
task crashed retried. A crash in the learning-rate stage stops the sweep before the picks: a
pick made without one of the grid's runs could change once that run is retried, and with it
every later run. It holds the study directory's lock (:mod:`eqscale.locks`), verifies the
dataset before the first run, and stops when a run meets a full or read-only disk.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eqscale.atomic import write_json_atomic
from eqscale.backends import make_backend
from eqscale.data.verify import verify_dataset
from eqscale.errors import EqscaleError, RunFailedError, StorageError
from eqscale.locks import folder_lock
from eqscale.study.collect import collect_study
from eqscale.study.plan import (
    RunSpec,
    batch_size,
    plan_lr_stage,
    plan_study,
    run_id,
    train_config,
)
from eqscale.study.runner import (
    SWEEP_ERROR,
    RunTask,
    execute_run,
    read_result,
    run_dir,
    run_state,
)
from eqscale.study.spec import StudySpec

log = logging.getLogger(__name__)

LR_JSON = "lr.json"  # the learning-rate stage's grid, losses and picks


@dataclass
class SweepSummary:
    """What a ``run`` did: run ids by outcome, and the run table it wrote. ``failed`` runs
    ended with a recorded reason (``result.json``: a diverged learning rate is a result);
    ``crashed`` ones raised in their task (``sweep_error.json``) and are retried next time."""

    skipped: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # run id -> reason
    crashed: dict[str, str] = field(default_factory=dict)  # run id -> error
    table: Path | None = None


def refuse_crashes(summary: SweepSummary, command: str) -> None:
    """Raise :class:`RunFailedError` (exit 1) when a run's task crashed: the study is
    incomplete, and fits made now would silently miss the run (the next call retries it)."""
    if not summary.crashed:
        return
    shown = list(summary.crashed.items())[:3]
    more = " ..." if len(summary.crashed) > len(shown) else ""
    raise RunFailedError(f"{len(summary.crashed)} run(s) crashed ("
                         + "; ".join(f"{rid}: {error}" for rid, error in shown) + more
                         + f"; tracebacks in their {SWEEP_ERROR}): the study is incomplete; fix "
                         f"the cause and run `{command}` again to retry them (finished runs are "
                         "kept)")


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
    verify_dataset(data_dir)  # checksums and finite values, once, before any run reads it
    return data_dir


def study_status(spec: StudySpec, study_dir: Path, runs: list[RunSpec]) -> dict[str, Any]:
    """Every planned run with its state (pending, running, partial, finished, failed, error,
    or waiting for the lr stage's pick) and, when finished, its results; the counts per
    state and the lr stage's picks (``eqscale sweep status --json``)."""
    from eqscale.models.registry import parameter_count

    bs = batch_size(spec)
    rows = []
    for run in runs:
        if run.awaits_lr:
            rid, state, result = f"{run.label} (rate: lr stage)", "waiting", {}
        else:
            rid = run_id(run, spec)
            path = run_dir(study_dir, rid)
            state, result = run_state(path), read_result(path) or {}
        steps = result.get("steps", run.steps)
        rows.append({"run_id": rid, "kind": run.kind, "model": run.model, "size": run.size,
                     "state": state, "params": parameter_count(run.model, run.size),
                     "steps": steps, "samples": steps * bs if isinstance(steps, int) else None,
                     "test_loss": result.get("test_loss"), "skill": result.get("skill")})
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return {"study": spec.name, "directory": str(study_dir), "runs": rows,
            "counts": dict(sorted(counts.items())), "learning_rates": read_picks(study_dir)}


def plan_table(status: dict[str, Any]) -> str:
    """:func:`study_status` as a text table."""
    header = (f"{'run_id':<48} {'state':<9} {'params':>9} {'steps':>7} {'samples':>9} "
              f"{'test_loss':>10}")
    lines = [header, "-" * len(header)]
    for r in status["runs"]:
        loss = r["test_loss"]
        loss_text = f"{loss:.4g}" if isinstance(loss, (int, float)) else "-"
        samples = "-" if r["samples"] is None else r["samples"]
        lines.append(f"{r['run_id']:<48} {r['state']:<9} {r['params']:>9} {r['steps']!s:>7} "
                     f"{samples!s:>9} {loss_text:>10}")
    lines.append(f"{len(status['runs'])} runs: "
                 + ", ".join(f"{n} {s}" for s, n in status["counts"].items()))
    picks = status["learning_rates"]
    if picks:
        lines.append("learning rates picked by the lr stage: "
                     + ", ".join(f"{arm} {rate:.3g}" for arm, rate in sorted(picks.items())))
    return "\n".join(lines)


def read_picks(study_dir: Path) -> dict[str, float] | None:
    """The learning rates the study's lr stage picked (``lr.json``), or None before it ran."""
    try:
        stage = json.loads((Path(study_dir) / LR_JSON).read_text())
        return {arm: float(entry["pick"]) for arm, entry in stage["arms"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def choose_learning_rates(spec: StudySpec, study_dir: Path) -> dict[str, float]:
    """Pick each arm's rate from its finished stage runs; write ``lr.json``; return the picks.

    An arm none of whose stage runs finished with a finite validation loss cannot be tuned:
    that is an :class:`EqscaleError` naming the arm.
    """
    from eqscale.scaling.learning_rates import pick_learning_rates

    results: dict[str, dict[float, float]] = {}
    for run in plan_lr_stage(spec):
        result = read_result(run_dir(study_dir, run_id(run, spec))) or {}
        val = result.get("best_val_loss") if result.get("status") == "finished" else None
        results.setdefault(run.arm, {})[float(run.lr)] = val if val is not None else math.nan
    arms = pick_learning_rates(results)
    bad = sorted(arm for arm, entry in arms.items() if entry["pick"] is None)
    if bad:
        raise EqscaleError(f"learning-rate stage: no run of {', '.join(bad)} finished with a "
                           "finite validation loss; see the lr-* run directories")
    write_json_atomic(study_dir / LR_JSON, {"steps": spec.lr.steps, "sizes": spec.lr.sizes,
                                            "arms": arms}, indent=2, sort_keys=True)
    return {arm: entry["pick"] for arm, entry in arms.items()}


def _execute(spec: StudySpec, study_dir: Path, data: Path, runs: list[RunSpec], executor: Any,
             summary: SweepSummary, collected: list[RunSpec], quiet: bool, what: str) -> None:
    """Run every unfinished run of ``runs`` on ``executor``; collect ``runs.csv`` (over the
    runs in ``collected``) after each one."""
    from tqdm import tqdm

    todo: list[RunTask] = []
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
    summary.table = collect_study(spec, study_dir, collected)
    if not todo:
        return
    with tqdm(total=len(todo), desc=f"{what} {spec.name}", unit="run", disable=quiet) as bar:
        for outcome in executor.map_unordered(execute_run, todo):
            task = todo[outcome.index]
            result: dict[str, Any] = outcome.value or {}
            if outcome.error_type == "StorageError":  # the next run would meet the same disk
                raise StorageError(f"run {task.run_id}: {outcome.error.partition(': ')[2]}; "
                                   "the sweep stopped")
            if not outcome.ok:
                write_json_atomic(Path(task.run_dir) / SWEEP_ERROR,
                                  {"error": outcome.error, "error_type": outcome.error_type,
                                   "traceback": outcome.traceback}, indent=2)
                summary.crashed[task.run_id] = str(outcome.error)
            elif result.get("status") == "finished":
                summary.finished.append(task.run_id)
            else:
                summary.failed[task.run_id] = str(result.get("reason", "failed"))
            summary.table = collect_study(spec, study_dir, collected)
            loss = result.get("test_loss")
            note = f"test loss {loss:.4g}" if isinstance(loss, (int, float)) else "FAILED"
            if not quiet:
                log.info(f"  {task.run_id}: {note}")
            bar.update(1)


def resources_text(executor: Any) -> str:
    """What each run gets from ``executor``, in words."""
    gpus = getattr(executor, "gpus", None)
    text = f"{executor.name}, {executor.workers} worker(s) x {executor.threads} CPU thread(s)"
    if executor.name == "ray":
        text += (f", {gpus:g} GPU(s) per run" if gpus is not None
                 else ", one GPU per run if the cluster has GPUs")
    elif executor.name == "slurm":
        o = executor.options
        text += (f", {gpus} GPU(s), {o.time_min} min per job"
                 + (f", partition {o.partition}" if o.partition else "")
                 + (" (submitit's local executor)" if o.local else ""))
    return text


def run_sweep(spec: StudySpec, study_dir: str | Path, data_dir: str | Path | None = None,
              backend: str = "local", workers: int = 1, ray_address: str | None = None,
              threads: int | None = None, quiet: bool = False,
              lr_only: bool = False, *, gpus: float | None = None,
              local_gpus: int | None = None, slurm: Any = None) -> SweepSummary:
    """Run every unfinished run of ``spec`` (see :func:`_run_sweep`) while holding the study
    directory's lock: a second sweep on the same directory exits with who holds it. ``threads``
    and ``gpus`` are each run's CPUs and GPUs (Ray; GPUs default to one per run on a cluster
    that has them); ``local_gpus`` declares a local Ray's GPUs; ``slurm`` holds the SLURM
    backend's :class:`eqscale.slurm.SlurmOptions` (its job folder defaults to the study's
    ``slurm/``)."""
    with folder_lock(study_dir, "study directory"):
        return _run_sweep(spec, study_dir, data_dir, backend, workers, ray_address, threads,
                          quiet, lr_only, gpus, local_gpus, slurm)


def _run_sweep(spec: StudySpec, study_dir: str | Path, data_dir: str | Path | None = None,
               backend: str = "local", workers: int = 1, ray_address: str | None = None,
               threads: int | None = None, quiet: bool = False,
               lr_only: bool = False, gpus: float | None = None,
               local_gpus: int | None = None, slurm: Any = None) -> SweepSummary:
    """Run every unfinished run of ``spec``: the learning-rate stage first (then its picks are
    written to ``lr.json``), then (unless ``lr_only``) the compute and data studies; ``runs.csv``
    is collected after each completed run."""
    if lr_only and spec.lr is None:
        raise EqscaleError(f"study {spec.name!r} has no learning-rate stage (no 'lr' section)")
    study_dir = Path(study_dir)
    stage = plan_lr_stage(spec)
    plan_study(spec)  # refuse an impossible study before generating anything
    if backend == "slurm":
        import dataclasses

        from eqscale.slurm import SlurmOptions

        slurm = slurm or SlurmOptions()
        if slurm.folder == SlurmOptions.folder:  # the default: inside the study directory
            slurm = dataclasses.replace(slurm, folder=str(study_dir / "slurm"))
    executor = make_backend(backend, workers=workers, threads=threads, ray_address=ray_address,
                            gpus=gpus, local_gpus=local_gpus, slurm=slurm)
    data = ensure_dataset(spec, Path(data_dir) if data_dir else study_dir / "data",
                          generate=data_dir is None,
                          backend="local" if backend == "slurm" else backend,
                          workers=workers, ray_address=ray_address)
    write_json_atomic(study_dir / "study.json", spec.to_dict(), indent=2)
    summary = SweepSummary()
    with executor:
        if not quiet:
            log.info(f"study {spec.name}: {len(stage)} learning-rate runs, then "
                     f"{len(plan_study(spec)) - len(stage)} compute and data runs "
                     f"({resources_text(executor)})")
        if stage:
            _execute(spec, study_dir, data, stage, executor, summary, stage, quiet, "lr stage")
            if summary.crashed:
                log.warning("the learning-rate stage is incomplete (a run crashed): no rates "
                            "picked, no later run started")
                return summary
            picks = choose_learning_rates(spec, study_dir)
            if not quiet:
                log.info("learning rates picked: " + ", ".join(
                    f"{arm} {rate:.3g}" for arm, rate in sorted(picks.items())))
        if not lr_only:
            runs = plan_study(spec, read_picks(study_dir) if stage else None)
            main = [r for r in runs if r.kind != "lr"]
            _execute(spec, study_dir, data, main, executor, summary, runs, quiet, "sweep")
    return summary
