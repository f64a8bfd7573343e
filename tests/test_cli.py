"""The command line parses every documented command and turns user errors into exit code 2."""

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eqscale import cli
from eqscale.cli import build_parser, main

COMMANDS = ["generate", "inspect", "render", "train", "evaluate", "sweep", "fit", "report",
            "bench", "demo"]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_python_dash_m_runs():
    proc = subprocess.run([sys.executable, "-m", "eqscale", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "demo" in proc.stdout


def test_unknown_command_is_rejected():
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["no-such-command"])
    assert exc.value.code == 2


def test_every_command_runs_a_function_of_the_commands_module():
    """Each subcommand's handler is the function of the same name in eqscale.cli.commands, and
    no layer prints: terminal output is the command line's alone."""
    from eqscale.cli import commands

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(sub.choices) == 10
    for name, p in sub.choices.items():
        handler = p.get_default("handler")
        assert handler is getattr(commands, name) and callable(handler), name
    package = Path(cli.__file__).parents[1]
    printing = [str(f.relative_to(package)) for f in package.rglob("*.py")
                if "cli" not in f.relative_to(package).parts
                and re.search(r"^\s*print\(", f.read_text(), re.M)]
    assert printing == []


def test_evaluate_missing_run_is_a_one_line_error(tmp_path, capsys):
    code = main(["evaluate", "--run", str(tmp_path / "nope"), "--data", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("eqscale: error:")


def test_version_is_printed(capsys):
    from eqscale import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"eqscale {__version__}"


def test_sweep_status_json_lists_every_planned_run(tmp_path, capsys):
    """Before anything ran: every run of the tiny study pending (the lr-dependent ones waiting
    for the stage's pick), counts that add up, the same runs as the text table."""
    import json

    from eqscale.study.plan import plan_study
    from eqscale.study.presets import load_study

    assert main(["sweep", "status", "--study", "tiny", "--out", str(tmp_path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["study"] == "tiny" and len(status["runs"]) == len(plan_study(load_study("tiny")))
    assert sum(status["counts"].values()) == len(status["runs"])
    assert set(status["counts"]) <= {"pending", "waiting"} and status["learning_rates"] is None
    assert all(r["params"] > 0 and r["test_loss"] is None for r in status["runs"])
    assert main(["sweep", "status", "--study", "tiny", "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert all(r["run_id"] in table for r in status["runs"])


def test_every_training_field_is_a_train_option(tmp_path, tiny_dataset):
    """The options are generated from TrainConfig: each field has one, and a field with no
    handwritten flag (here warmup_fraction and betas) reaches the run's config.json."""
    import dataclasses
    import json

    from eqscale.train.config import TrainConfig

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = {o for a in sub.choices["train"]._actions for o in a.option_strings}
    for f in dataclasses.fields(TrainConfig):
        if f.name != "preset":
            assert "--" + f.name.replace("_", "-") in options, f.name
    run = tmp_path / "run"
    assert main(["train", "--model", "transformer", "--data", str(tiny_dataset), "--out",
                 str(run), "--preset", "tiny", "--steps", "2", "--warmup-fraction", "0.25",
                 "--betas", "0.8", "0.95", "--no-augment", "--quiet", "--threads", "1"]) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["warmup_fraction"] == 0.25 and config["betas"] == [0.8, 0.95]
    assert config["steps"] == 2 and config["augment"] is False
