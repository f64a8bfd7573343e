"""The command line parses every documented command and turns user errors into exit code 2."""

import importlib
import inspect
import re
import subprocess
import sys

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


def test_every_command_dispatches_to_an_existing_function():
    """Each subcommand's handler names a module:function that exists (no dangling contract)."""
    source = inspect.getsource(cli)
    for target in set(re.findall(r'"(eqscale\.[\w.]+:\w+)"', source)):
        module_name, func_name = target.split(":")
        assert callable(getattr(importlib.import_module(module_name), func_name)), target


def test_evaluate_missing_run_is_a_one_line_error(tmp_path, capsys):
    code = main(["evaluate", "--run", str(tmp_path / "nope"), "--data", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("eqscale: error:")
