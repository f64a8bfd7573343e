"""Kill a child process at a point the child chooses: no race between the kill and its progress.

The child runs ``python -c PRELUDE + code ARGS...``. ``code`` monkeypatches a library function
so that, at the point to kill at (a checkpoint written, a shard committed, a run finished), it
calls ``pause(info)``: ``info`` goes to the test as one JSON line on a pipe, then the child
blocks until it is killed. :func:`kill_at_pause` waits on that pipe (no sleeping, no polling),
SIGKILLs the child's whole process group (pool workers included) and returns ``info``. A child
that ends, or does not reach the point within the timeout, fails the test with its stderr.
Nothing in the library is involved: the hook lives in the child's ``code`` only.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PAUSE_FD = "EQSCALE_TEST_PAUSE_FD"

PRELUDE = f'''
import json as _json, os as _os, time as _time


def pause(info=None):
    """Tell the waiting test that the kill point is reached, then block until killed."""
    _os.write(int(_os.environ["{PAUSE_FD}"]), (_json.dumps(info) + "\\n").encode())
    while True:
        _time.sleep(3600)

'''

# ``code`` ending: run ``python -m eqscale ARGS...`` in this (patched) process.
RUN_CLI = '''
import runpy, sys
sys.argv = ["eqscale", *sys.argv[1:]]
runpy.run_module("eqscale", run_name="__main__", alter_sys=True)
'''


def _read_line(fd: int, timeout: float) -> bytes | None:
    """One line from ``fd``; None at end of file (every writer gone); TimeoutError if late."""
    data, deadline = b"", time.monotonic() + timeout
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, 4096)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\n", 1)[0]


def kill_at_pause(code: str, args: Sequence[str] = (), *, timeout: float = 300,
                  env: Mapping[str, str] | None = None, cwd: str | Path | None = None) -> Any:
    """Run ``code`` (which calls ``pause(info)`` at the kill point) in a child, SIGKILL the
    child's process group once it has paused there, and return ``info``."""
    read_fd, write_fd = os.pipe()
    child_env = dict(os.environ if env is None else env)
    child_env[PAUSE_FD] = str(write_fd)
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", PRELUDE + code, *args], env=child_env, cwd=cwd,
                pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err, start_new_session=True)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child's copy is then the pipe's only writer
        try:
            line = _read_line(read_fd, timeout)
        except TimeoutError:
            line, late = None, True
        else:
            late = False
        finally:
            os.close(read_fd)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the child and its pool workers
            except ProcessLookupError:
                pass
            returncode = proc.wait()
        if line is None:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-4000:]
            what = (f"did not reach its kill point within {timeout:g} s" if late
                    else f"ended (exit status {returncode}) before reaching its kill point")
            raise AssertionError(f"child process {what}; its stderr:\n{tail}")
    return json.loads(line)
