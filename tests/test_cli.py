"""The command line parses every documented command and turns user errors into exit code 2."""

import subprocess
import sys

import pytest

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
