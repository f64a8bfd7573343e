"""The ``eqscale`` command line: parse arguments, then run one command of
:mod:`eqscale.cli.commands`, which calls the layers and shows their results.

Progress messages of the layers (the ``eqscale`` logger) are shown on stdout, above any
progress bar; warnings on stderr. User errors (:class:`eqscale.errors.EqscaleError`) become one
line on stderr and exit code 2 (1 for a training run that failed); so do operating-system errors
at the edges (:mod:`eqscale.oserrors`: a full disk, a read-only folder, a file in the way).
SIGTERM and SIGHUP interrupt like Ctrl-C (:mod:`eqscale.procs`): exit code 128 + the signal.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from eqscale.cli import commands
from eqscale.errors import EqscaleError


class ShowDefaults(argparse.HelpFormatter):
    """``--help`` shows each option's default, unless its help already says it or there is
    none to show (train's generated options say theirs in their text)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = not (action.default is None or action.default is False
                     or action.default == argparse.SUPPRESS)
        if "default" not in text and shown and action.option_strings:
            text += " (default: %(default)s)"
        return text

# --- data -------------------------------------------------------------------------------------


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", formatter_class=ShowDefaults,
                       help="simulate MOVi-B-like scenes into a dataset")
    p.add_argument("--out", required=True, help="dataset directory to create or resume")
    p.add_argument("--train", type=int, default=64, help="training trajectories")
    p.add_argument("--val", type=int, default=16, help="validation trajectories")
    p.add_argument("--test", type=int, default=16, help="test trajectories")
    p.add_argument("--seed", type=int, default=0, help="base seed of the seed range")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    p.add_argument("--shapes", default="procedural", help="'procedural' or 'kubasic:PATH'")
    p.add_argument("--faces-per-object", type=int, default=64, help="token mesh face budget")
    p.add_argument("--shard-size", type=int, default=32, help="trajectories per shard")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="where the simulations run")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (shards, disk size, time at a measured rate) and stop")
    p.set_defaults(handler=commands.generate)


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", formatter_class=ShowDefaults,
                       help="validate a dataset and print a summary")
    p.add_argument("path", help="dataset directory")
    p.set_defaults(handler=commands.inspect)


def _add_render(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", formatter_class=ShowDefaults,
                       help="draw a trajectory (token meshes and floor) to a PNG")
    p.add_argument("path", help="dataset directory")
    p.add_argument("--split", default="test", choices=["train", "val", "test"],
                   help="which split the trajectory is from")
    p.add_argument("--index", type=int, default=0, help="trajectory index within the split")
    p.add_argument("--out", required=True, help="output PNG file")
    p.set_defaults(handler=commands.render)


# --- training ---------------------------------------------------------------------------------


def architecture_names() -> tuple[str, ...]:
    from eqscale.models.registry import names

    return names()


def _add_train(sub: argparse._SubParsersAction) -> None:
    from eqscale.cli.train_flags import add_config_flags
    from eqscale.train.config import BUDGET_CONVENTIONS, PRESETS, TrainConfig

    p = sub.add_parser("train", help="train one model on a dataset",
                       description="Train (or resume) one run. Every field of the training "
                       "configuration is an option; those not given keep the preset's values.")
    p.add_argument("--data", required=True, help="dataset directory")
    p.add_argument("--out", required=True, help="run directory (resumed if it exists)")
    p.add_argument("--preset", default=None, choices=list(PRESETS),
                   help="named training preset the options start from")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads (default: $OMP_NUM_THREADS, else the free cores)")
    fields = add_config_flags(p, TrainConfig, choices={
        "model": architecture_names(), "budget_convention": BUDGET_CONVENTIONS})
    p.set_defaults(handler=commands.train, config_fields=fields)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", formatter_class=ShowDefaults,
                       help="loss, rollout and equivariance error of a run")
    p.add_argument("--run", dest="run_dir", required=True, help="run directory")
    p.add_argument("--data", required=True, help="dataset directory")
    p.add_argument("--split", default="test", choices=["train", "val", "test"],
                   help="the split to evaluate on")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available)")
    p.set_defaults(handler=commands.evaluate)


# --- studies and analysis ---------------------------------------------------------------------


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", formatter_class=ShowDefaults,
                       help="plan, run or check a scaling study")
    p.add_argument("action", choices=["plan", "run", "status"])
    p.add_argument("--study", required=True, help="preset name (tiny, demo, cpu, paper) or JSON")
    p.add_argument("--out", default="study", help="study directory")
    p.add_argument("--data", default=None, help="dataset directory (default: OUT/data)")
    p.add_argument("--backend", choices=["local", "ray", "slurm"], default="local",
                   help="where the runs train: this machine, a Ray cluster, SLURM jobs")
    p.add_argument("--workers", type=int, default=1, help="parallel runs for the local backend")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.add_argument("--lr-only", action="store_true",
                   help="run: only the learning-rate stage, then stop (picks in OUT/lr.json)")
    p.add_argument("--json", action="store_true",
                   help="plan, status: print the runs, their states and results as JSON")
    p.add_argument("--step-times", default=None, metavar="FILE",
                   help="plan: estimate the study's wall time on --workers workers from the "
                        "step times of `eqscale bench models --out FILE`")
    p.add_argument("--cpus-per-run", type=int, default=None,
                   help="CPU threads of each run (default: the free cores / workers)")
    p.add_argument("--gpus-per-run", type=float, default=None,
                   help="ray: GPUs of each run (default: 1 on a cluster with GPUs, else 0)")
    p.add_argument("--ray-gpus", type=int, default=None,
                   help="ray: GPUs a local Ray declares (default: those it detects)")
    p.add_argument("--slurm-partition", default=None, help="slurm: the partition of the jobs")
    p.add_argument("--slurm-time", type=int, default=120, help="slurm: minutes per job")
    p.add_argument("--slurm-local", action="store_true",
                   help="slurm: run the jobs on this machine (submitit's local executor)")
    p.set_defaults(handler=commands.sweep)


def _add_fitting(sub: argparse._SubParsersAction, name: str, what: str, out: str) -> None:
    """``fit`` and ``report``: the same table and bootstrap options, their own output."""
    p = sub.add_parser(name, formatter_class=ShowDefaults, help=what)
    p.add_argument("--runs", required=True, help="run table (CSV) or study directory")
    p.add_argument("--out", default=None, help=out)
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--workers", type=int, default=None,
                   help="processes fitting the resamples (default: the free cores)")
    p.set_defaults(handler=getattr(commands, name))


def _add_fit(sub: argparse._SubParsersAction) -> None:
    _add_fitting(sub, "fit", "fit scaling laws to a run table",
                 "where to write fits.json (default: beside runs)")


def _add_report(sub: argparse._SubParsersAction) -> None:
    _add_fitting(sub, "report", "HTML + Markdown report with figures and fitted laws",
                 "report directory (default: beside runs)")


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", formatter_class=ShowDefaults,
                       help="benchmarks that print ratios measured in one run")
    p.add_argument("what", choices=["ga", "data", "models"])
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    p.add_argument("--quick", action="store_true", help="smaller problem, for smoke tests")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="models: also time torch.compile'd steps (default: on CUDA only)")
    p.set_defaults(handler=commands.bench)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", formatter_class=ShowDefaults,
                       help="the whole pipeline at laptop scale (about 10 minutes)")
    p.add_argument("--out", default="demo", help="output directory (resumed if it exists)")
    p.add_argument("--preset", default="demo", help="study preset (tiny for a smoke test)")
    p.add_argument("--workers", type=int, default=None, help="parallel processes (default: cores)")
    p.set_defaults(handler=commands.demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eqscale",
        description="Does equivariance matter at scale? GATr vs transformer on rigid-body physics.",
    )
    from eqscale import __version__

    parser.add_argument("--version", action="version", version=f"eqscale {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (
        _add_generate, _add_inspect, _add_render, _add_train, _add_evaluate,
        _add_sweep, _add_fit, _add_report, _add_bench, _add_demo,
    ):
        add(sub)
    return parser


class _ProgressHandler(logging.Handler):
    """Layer messages: info to stdout through tqdm (so they land above its bars), warnings and
    errors to stderr as ``eqscale: warning: ...``."""

    def emit(self, record: logging.LogRecord) -> None:
        if not getattr(record, "console", True):  # for the run's log file only
            return
        try:
            msg = record.getMessage()
            if record.levelno >= logging.WARNING:
                print(f"eqscale: {record.levelname.lower()}: {msg}", file=sys.stderr)
                return
            try:
                from tqdm import tqdm

                tqdm.write(msg, file=sys.stdout)
            except ImportError:
                print(msg)
            sys.stdout.flush()
        except Exception:  # noqa: BLE001 (a display problem must not stop the work)
            self.handleError(record)


def _show_progress() -> None:
    logger = logging.getLogger("eqscale")
    if not any(isinstance(h, _ProgressHandler) for h in logger.handlers):
        logger.addHandler(_ProgressHandler())
    logger.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()  # lists the registered architectures (plugins included)
    except EqscaleError as exc:
        print(f"eqscale: error: {exc}", file=sys.stderr)
        return exc.exit_code
    args = parser.parse_args(argv)
    from eqscale.procs import Terminated, cli_signals

    _show_progress()

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
