"""The ``eqscale`` command line: parse arguments, then call one function of a layer.

Every layer is imported lazily inside its command, so ``eqscale --help`` is instant and a
command only pays for what it uses. User errors (:class:`eqscale.errors.EqscaleError`) become one
line on stderr and exit code 2 (1 for a training run that failed); so do operating-system errors
at the edges (:mod:`eqscale.oserrors`: a full disk, a read-only folder, a file in the way).
SIGTERM and SIGHUP interrupt like Ctrl-C (:mod:`eqscale.procs`): exit code 128 + the signal.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from eqscale.errors import EqscaleError


def _call(target: str, **kwargs: Any) -> Any:
    """Import ``module:function`` lazily and call it with keyword arguments."""
    module_name, func_name = target.split(":")
    func: Callable[..., Any] = getattr(importlib.import_module(module_name), func_name)
    return func(**kwargs)


# --- data -------------------------------------------------------------------------------------


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="simulate MOVi-B-like scenes into a dataset (SPEC 1-2)")
    p.add_argument("--out", required=True, help="dataset directory to create or resume")
    p.add_argument("--train", type=int, default=64, help="training trajectories")
    p.add_argument("--val", type=int, default=16, help="validation trajectories")
    p.add_argument("--test", type=int, default=16, help="test trajectories")
    p.add_argument("--seed", type=int, default=0, help="base seed of the seed range")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--shapes", default="procedural", help="'procedural' or 'kubasic:PATH'")
    p.add_argument("--faces-per-object", type=int, default=64, help="token mesh face budget")
    p.add_argument("--shard-size", type=int, default=32, help="trajectories per shard")
    p.add_argument("--backend", choices=["local", "ray"], default="local")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.set_defaults(
        handler=lambda a: _call(
            "eqscale.data.generate:generate_dataset",
            out=a.out,
            n_train=a.train,
            n_val=a.val,
            n_test=a.test,
            seed=a.seed,
            workers=a.workers,
            shapes=a.shapes,
            faces_per_object=a.faces_per_object,
            shard_size=a.shard_size,
            backend=a.backend,
            ray_address=a.ray_address,
        )
    )


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="validate a dataset and print a summary")
    p.add_argument("path", help="dataset directory")
    p.set_defaults(
        handler=lambda a: print(_call("eqscale.data.inspect:inspect_dataset", path=a.path))
    )


def _add_render(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="draw a trajectory (token meshes and floor) to a PNG")
    p.add_argument("path", help="dataset directory")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--index", type=int, default=0, help="trajectory index within the split")
    p.add_argument("--out", required=True, help="output PNG file")
    p.set_defaults(
        handler=lambda a: _call(
            "eqscale.data.render:render_trajectory",
            path=a.path,
            split=a.split,
            index=a.index,
            out=a.out,
        )
    )


# --- training ---------------------------------------------------------------------------------


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one model on a dataset (SPEC 6)")
    p.add_argument("--model", required=True, choices=["transformer", "gatr"])
    p.add_argument("--size", default=None, help="size index of the architecture's schedule")
    p.add_argument("--data", required=True, help="dataset directory")
    p.add_argument("--out", required=True, help="run directory (resumed if it exists)")
    p.add_argument("--preset", default=None, help="named training preset: tiny, demo, ...")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--budget", type=float, default=None, help="compute budget in FLOPs")
    g.add_argument("--steps", type=int, default=None, help="number of optimiser steps")
    p.add_argument(
        "--budget-convention", choices=["nominal", "executed"], default=None,
        help="which FLOP count a budget is measured in (default nominal)",
    )
    p.add_argument("--augment", action="store_true", help="random E(3) data augmentation")
    p.add_argument("--train-subset", type=int, default=None, help="first N training trajectories")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the training step (default: on CUDA only)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads (default: $OMP_NUM_THREADS, else the free cores)")
    p.set_defaults(
        handler=lambda a: _call(
            "eqscale.train.cli_entry:train_from_cli",
            model=a.model,
            size=a.size,
            data=a.data,
            out=a.out,
            preset=a.preset,
            budget=a.budget,
            steps=a.steps,
            budget_convention=a.budget_convention,
            augment=a.augment,
            train_subset=a.train_subset,
            batch_size=a.batch_size,
            lr=a.lr,
            seed=a.seed,
            device=a.device,
            quiet=a.quiet,
            compile=a.compile,
            threads=a.threads,
        )
    )


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="loss, rollout and equivariance error of a run")
    p.add_argument("--run", dest="run_dir", required=True, help="run directory")
    p.add_argument("--data", required=True, help="dataset directory")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--device", default=None)
    p.set_defaults(
        handler=lambda a: _call(
            "eqscale.train.evaluate:evaluate_from_cli",
            run=a.run_dir,
            data=a.data,
            split=a.split,
            as_json=a.json,
            device=a.device,
        )
    )


# --- studies and analysis ---------------------------------------------------------------------


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="plan, run or check a scaling study (SPEC 7)")
    p.add_argument("action", choices=["plan", "run", "status"])
    p.add_argument("--study", required=True, help="preset name (tiny, demo, cpu, paper) or JSON")
    p.add_argument("--out", default="study", help="study directory")
    p.add_argument("--data", default=None, help="dataset directory (default: OUT/data)")
    p.add_argument("--backend", choices=["local", "ray", "slurm"], default="local")
    p.add_argument("--workers", type=int, default=1, help="parallel runs for the local backend")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.add_argument("--lr-only", action="store_true",
                   help="run: only the learning-rate stage, then stop (picks in OUT/lr.json)")
    p.set_defaults(
        handler=lambda a: _call(
            "eqscale.study.sweep:sweep_from_cli",
            action=a.action,
            study=a.study,
            out=a.out,
            data=a.data,
            backend=a.backend,
            workers=a.workers,
            ray_address=a.ray_address,
            lr_only=a.lr_only,
        )
    )


def _add_fit(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="fit scaling laws to a run table")
    p.add_argument("--runs", required=True, help="run table (CSV) or study directory")
    p.add_argument("--out", default=None, help="where to write fits.json (default: beside runs)")
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None,
                   help="processes fitting the resamples (default: the free cores)")
    p.set_defaults(
        handler=lambda a: _call(
            "eqscale.scaling.analysis:fit_from_cli",
            runs=a.runs,
            out=a.out,
            n_bootstrap=a.bootstrap,
            seed=a.seed,
            workers=a.workers,
        )
    )


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="HTML + Markdown report with figures and fitted laws")
    p.add_argument("--runs", required=True, help="run table (CSV) or study directory")
    p.add_argument("--out", default=None, help="report directory (default: beside runs)")
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None,
                   help="processes fitting the resamples (default: the free cores)")
    p.set_defaults(
        handler=lambda a: _call(
            "eqscale.scaling.report:report_from_cli",
            runs=a.runs,
            out=a.out,
            n_bootstrap=a.bootstrap,
            seed=a.seed,
            workers=a.workers,
        )
    )


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks that print ratios measured in one run")
    p.add_argument("what", choices=["ga", "data", "models"])
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    p.add_argument("--quick", action="store_true", help="smaller problem, for smoke tests")
    p.add_argument("--device", default=None)
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="models: also time torch.compile'd steps (default: on CUDA only)")
    targets = {
        "ga": "eqscale.nn.bench:bench_ga",
        "data": "eqscale.data.bench:bench_data",
        "models": "eqscale.models.bench:bench_models",
    }
    p.set_defaults(
        handler=lambda a: _call(targets[a.what], out=a.out, quick=a.quick, device=a.device,
                                **({"compile": a.compile} if a.what == "models" else {}))
    )


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole pipeline at laptop scale (about 10 minutes)")
    p.add_argument("--out", default="demo", help="output directory (resumed if it exists)")
    p.add_argument("--preset", default="demo", help="study preset (tiny for a smoke test)")
    p.add_argument("--workers", type=int, default=None, help="parallel processes (default: cores)")
    p.set_defaults(
        handler=lambda a: _call(
            "eqscale.study.demo:run_demo", out=a.out, preset=a.preset, workers=a.workers
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eqscale",
        description="Does equivariance matter at scale? GATr vs transformer on rigid-body physics.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (
        _add_generate, _add_inspect, _add_render, _add_train, _add_evaluate,
        _add_sweep, _add_fit, _add_report, _add_bench, _add_demo,
    ):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from eqscale.procs import Terminated, cli_signals

    try:
        with cli_signals():
            args.handler(args)
    except EqscaleError as exc:
        print(f"eqscale: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated as exc:
        print(f"eqscale: terminated ({exc}); finished work is kept, run the same command to "
              "resume", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("eqscale: interrupted; finished work is kept, run the same command to resume",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `eqscale sweep plan ... | head`: the reader left
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (no flush error at exit)
        return 141
    except OSError as exc:
        from eqscale.oserrors import describe

        print(f"eqscale: error: {describe(exc)}", file=sys.stderr)
        return 2
    return 0
