"""Helpers of the hardening tests: run the CLI the way a user does and check what they see.

Commands run as subprocesses (``python -m eqscale``) with real signals, real files and real
operating-system limits; :func:`assert_one_line_error` checks the contract of every failure:
one line ``eqscale: error: ...`` on stderr, the exit code, and no traceback.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.train.helpers import REPO_ROOT, cli_env, eqscale_cmd

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def run(*args: str, timeout: float = 300, preexec_fn: Callable[[], None] | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``eqscale ARGS`` to completion, output captured."""
    return subprocess.run(eqscale_cmd(*map(str, args)), capture_output=True, text=True,
                          timeout=timeout, env=env or cli_env(), cwd=REPO_ROOT,
                          preexec_fn=preexec_fn)


def start(*args: str, log: Path, **kwargs) -> subprocess.Popen:
    """``eqscale ARGS`` in the background, in its own process group; output to ``log``."""
    with open(log, "w") as fh:
        return subprocess.Popen(eqscale_cmd(*map(str, args)), stdout=fh, stderr=fh,
                                env=cli_env(), cwd=REPO_ROOT, start_new_session=True, **kwargs)


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str, code: int = 2) -> str:
    """The failure contract; returns the error line. ``words`` must all appear in it."""
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = [ln for ln in err.splitlines() if ln.startswith("eqscale:")]
    assert len(lines) == 1 and lines[0].startswith("eqscale: error: "), proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def live_group_members(pgid: int) -> list[tuple[int, str]]:
    """(pid, command) of the live processes of process group ``pgid`` (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, _ppid, group = stat.rpartition(")")[2].split()[:3]
        if int(group) == pgid and state not in ("Z", "X"):
            found.append((int(entry.name), cmd.strip()))
    return found


def wait_until(condition: Callable[[], bool], timeout: float, what: str,
               proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            text = log.read_text() if log is not None and log.exists() else ""
            raise AssertionError(f"exited with {proc.returncode} before {what}: {text[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def metric_lines(run_dir: Path) -> int:
    path = run_dir / "metrics.jsonl"
    return len(path.read_text().splitlines()) if path.is_file() else 0


def slow_study(path: Path, steps: int = 3000) -> Path:
    """A study JSON of two long data runs (gatr, transformer) on the `tiny` dataset: enough
    work that two pool workers are busy training when a test interrupts the sweep."""
    from eqscale.study.presets import PRESETS

    d = PRESETS["tiny"].to_dict()
    d.update(name="slow", lr=None, compute=None,
             data_study={"train_sizes": [8], "size": 0, "steps": steps,
                         "variants": ["gatr", "transformer"]})
    d["train"]["overrides"].update(patience=None, eval_every=1000, checkpoint_every=1000)
    path.write_text(json.dumps(d))
    return path


def _drop_override() -> None:
    """preexec: this process and its children lose root's power to ignore file permissions."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def read_only_runner(tmp_path: Path) -> Callable[[], None] | None:
    """The preexec function under which a ``chmod 555`` folder is really read-only (root
    ignores permissions unless it drops CAP_DAC_OVERRIDE); skips the test where that fails."""
    probe = tmp_path / "ro-probe"
    probe.mkdir()
    probe.chmod(0o555)
    preexec = _drop_override if os.geteuid() == 0 else None
    try:
        done = subprocess.run(["touch", str(probe / "x")], preexec_fn=preexec,
                              capture_output=True)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot make a folder read-only for this user")
    finally:
        probe.chmod(0o755)
    if done.returncode == 0:
        pytest.skip("cannot make a folder read-only for this user")
    return preexec


def rewrite_array(root: Path, rel: str, array, fix_checksum: bool = True) -> Path:
    """Replace the array file ``root/rel`` (e.g. ``train/shard_00000/positions.npy``); with
    ``fix_checksum`` the manifest and ``shard.json`` are updated to match, so only the values
    are wrong (as after a bug or a tampering that kept the bookkeeping consistent)."""
    import numpy as np

    from eqscale.data.format import sha256_file

    path = root / rel
    np.save(path, array)
    if fix_checksum:
        manifest = json.loads((root / "manifest.json").read_text())
        for split in manifest["splits"].values():
            for entry in split["shards"]:
                if rel.startswith(entry["path"] + "/"):
                    entry["sha256"][path.stem] = sha256_file(path)
                    (root / entry["path"] / "shard.json").write_text(json.dumps(entry))
        (root / "manifest.json").write_text(json.dumps(manifest))
    return path


def flip_byte(path: Path, offset: int = -5) -> None:
    """Flip the bits of one byte of ``path`` in place (size unchanged)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
