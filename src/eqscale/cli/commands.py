"""What each ``eqscale`` command does: call the layers, then show their results.

One function per command, taking the parsed arguments. The layers return values (results,
paths, tables as text) and report progress through the ``eqscale`` logger; formatting results
for the terminal happens here and nowhere else. Every layer is imported inside its command, so
``eqscale --help`` stays instant and a command only pays for what it uses.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from eqscale.errors import EqscaleError, RunFailedError


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


# --- data -------------------------------------------------------------------------------------


def generate(a: argparse.Namespace) -> None:
    from eqscale.data.generate import generate_dataset, generation_plan

    if a.dry_run:
        plan = generation_plan({"train": a.train, "val": a.val, "test": a.test}, a.shard_size,
                               a.workers, a.shapes, a.faces_per_object, a.seed)
        rows = [(split, f"{v['trajectories']} trajectories in {v['shards']} shards")
                for split, v in plan["splits"].items()]
        hours = plan["estimated_seconds"] / 3600
        rows += [("disk", f"about {plan['bytes'] / 1e9:.3g} GB"),
                 ("rate", f"{plan['seconds_per_trajectory']:.3g} s per trajectory per worker "
                          f"(measured on {plan['measured_on']} here)"),
                 ("time", f"about {plan['estimated_seconds']:.0f} s ({hours:.2g} h) with "
                          f"{plan['workers']} worker(s)")]
        print(f"dry run: {a.out} would hold\n{_table(rows)}")
        return
    root = generate_dataset(a.out, n_train=a.train, n_val=a.val, n_test=a.test, seed=a.seed,
                            workers=a.workers, shapes=a.shapes,
                            faces_per_object=a.faces_per_object, shard_size=a.shard_size,
                            backend=a.backend, ray_address=a.ray_address)
    print(f"dataset: {root}")


def inspect(a: argparse.Namespace) -> None:
    from eqscale.data.inspect import inspect_dataset

    print(inspect_dataset(a.path))


def render(a: argparse.Namespace) -> None:
    from eqscale.data.render import render_trajectory

    print(f"wrote {render_trajectory(a.path, split=a.split, index=a.index, out=a.out)}")


# --- training ---------------------------------------------------------------------------------


def _set_threads(threads: int | None) -> None:
    """``--threads``, else ``$OMP_NUM_THREADS`` (torch reads it), else the free cores."""
    import torch

    from eqscale.backends import default_threads

    if threads is not None and threads < 1:
        raise EqscaleError(f"--threads must be at least 1, got {threads}")
    if threads is not None:
        torch.set_num_threads(threads)
    elif "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(default_threads())


def train(a: argparse.Namespace) -> None:
    """Build the run's config from a preset plus the flags and train (or resume). A run that
    ends ``failed`` exits with code 1 (:class:`RunFailedError`), distinct from bad input (2)."""
    from eqscale.cli.train_flags import config_overrides
    from eqscale.train.config import make_config
    from eqscale.train.loop import run_training

    _set_threads(a.threads)
    config = make_config(a.preset, **config_overrides(a, a.config_fields))
    result = run_training(config, a.data, a.out, quiet=a.quiet)
    if result.get("status") == "failed":
        raise RunFailedError(f"run {a.out} failed: {result.get('reason')} (recorded in "
                             f"{a.out}/result.json; delete the run directory to retry)")


def evaluate(a: argparse.Namespace) -> None:
    from eqscale.jsonsafe import json_safe
    from eqscale.train.evaluate import evaluate_run

    out = evaluate_run(a.run_dir, a.data, a.split, a.device)
    if a.json:
        print(json.dumps(json_safe(out), indent=2, allow_nan=False))
        return
    eq = out["equivariance_error"]
    print(_table([
        ("run", out["run"]), ("model", f"{out['model']} size {out['size']}"),
        ("split", f"{a.split} of {a.data}"), ("loss", f"{out['test_loss']:.6g}"),
        ("constant velocity", f"{out['constant_velocity_loss']:.6g} (skill "
         f"{out['skill']:+.3f}: 1 - loss / constant-velocity loss)"),
        ("rigid constant velocity", f"{out['rigid_constant_velocity_loss']:.6g}"),
        ("no motion", f"{out['no_motion_loss']:.6g}"),
        ("rollout error", f"{out['rollout_error']:.6g}"),
        ("equivariance error", f"{eq:.3g}" if eq is not None else "-"),
    ]))


# --- studies and analysis ---------------------------------------------------------------------


def _summary_lines(summary: Any) -> list[str]:
    from eqscale.study.runner import SWEEP_ERROR

    crashed = f", {len(summary.crashed)} crashed" if summary.crashed else ""
    lines = [f"{len(summary.skipped)} runs already finished, {len(summary.finished)} trained, "
             f"{len(summary.failed)} failed{crashed}; run table: {summary.table}"]
    lines += [f"failed: {rid}: {reason}" for rid, reason in summary.failed.items()]
    lines += [f"crashed: {rid}: {error} (traceback in its {SWEEP_ERROR})"
              for rid, error in summary.crashed.items()]
    return lines


def sweep(a: argparse.Namespace) -> None:
    from pathlib import Path

    from eqscale.backends import make_backend
    from eqscale.jsonsafe import json_safe
    from eqscale.slurm import SlurmOptions
    from eqscale.study.plan import plan_study
    from eqscale.study.presets import load_study
    from eqscale.study.sweep import (
        plan_table,
        read_picks,
        refuse_crashes,
        resources_text,
        run_sweep,
        study_status,
    )

    spec = load_study(a.study)
    study_dir = Path(a.out)
    slurm = SlurmOptions(folder=str(study_dir / "slurm"), partition=a.slurm_partition,
                         time_min=a.slurm_time, local=a.slurm_local)
    if a.action in ("plan", "status"):
        runs = plan_study(spec, read_picks(study_dir))
        status = study_status(spec, study_dir, runs)
        resources = resources_text(make_backend(a.backend, a.workers, a.cpus_per_run,
                                                a.ray_address, gpus=a.gpus_per_run,
                                                slurm=slurm))
        estimate = None
        if a.step_times is not None:
            from eqscale.study.estimate import estimate_wall

            estimate = estimate_wall(runs, spec, a.step_times, a.workers)
        if a.json:
            extra = {} if estimate is None else {"estimated_wall_seconds": estimate.seconds}
            print(json.dumps(json_safe({**status, "resources": resources, **extra}), indent=2,
                             allow_nan=False))
            return
        if a.action == "plan":
            print(f"study {spec.name}: {spec.description}".rstrip(": "))
            print(f"each run gets: {resources}")
        print(plan_table(status))
        if estimate is not None:
            print(estimate.text())
        elif a.action == "plan":
            print("estimated wall time: pass --step-times FILE, written by "
                  "`eqscale bench models --out FILE` on the machine that will run the study")
        return
    start = time.perf_counter()
    summary = run_sweep(spec, study_dir, a.data, a.backend, a.workers, a.ray_address,
                        a.cpus_per_run, lr_only=a.lr_only, gpus=a.gpus_per_run,
                        local_gpus=a.ray_gpus, slurm=slurm)
    print("\n".join(_summary_lines(summary)))
    print(f"sweep took {time.perf_counter() - start:.0f} s")
    refuse_crashes(summary, "eqscale sweep run")


def fit(a: argparse.Namespace) -> None:
    from eqscale.scaling.analysis import fit_runs
    from eqscale.scaling.summary import summary_table

    result, path = fit_runs(a.runs, a.out, n_bootstrap=a.bootstrap, seed=a.seed,
                            workers=a.workers)
    print(summary_table(result))
    print(f"wrote {path}")


def _print_report(report: Any, paragraphs: int = 5) -> None:
    from eqscale.scaling.conclusion import conclusion

    if report.reused_fits is not None:
        print(f"using {report.reused_fits} (same table, bootstrap, seed)")
    for para in conclusion(report.result)[:paragraphs]:
        print(para)
    print(f"wrote {report.paths['html']} and {report.paths['markdown']}")


def report(a: argparse.Namespace) -> None:
    from eqscale.scaling.report import make_report

    _print_report(make_report(a.runs, a.out, n_bootstrap=a.bootstrap, seed=a.seed,
                              workers=a.workers))


def bench(a: argparse.Namespace) -> None:
    if a.what == "ga":
        from eqscale.nn.bench import bench_ga, format_ga_bench

        print(format_ga_bench(bench_ga(out=a.out, quick=a.quick, device=a.device)))
    elif a.what == "data":
        from eqscale.data.bench import bench_data, format_data_bench

        print(format_data_bench(bench_data(out=a.out, quick=a.quick, device=a.device)))
    else:
        from eqscale.models.bench import bench_models, format_table

        print(format_table(bench_models(out=a.out, quick=a.quick, device=a.device,
                                        compile=a.compile)))


def demo(a: argparse.Namespace) -> None:
    from eqscale.scaling.conclusion import conclusion
    from eqscale.study.demo import run_demo

    done = run_demo(out=a.out, preset=a.preset, workers=a.workers)
    for para in conclusion(done.result)[:5]:
        print(para)
    print("\n".join(_summary_lines(done.summary)))
    print(f"done in {done.seconds:.0f} s ({done.seconds / 60:.1f} min)")
    print(f"report: {done.report} (Markdown: {done.markdown})")
