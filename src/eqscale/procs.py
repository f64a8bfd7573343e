"""Process lifetime: workers die with their parent, and SIGTERM unwinds like Ctrl-C.

Pool workers are bound to the process that started them (:func:`bind_to_parent`): Linux's
parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) kills a worker the moment its parent
dies, ``kill -9`` included, and a watchdog thread that polls ``os.getppid()`` covers systems
without it. So an interrupted ``eqscale generate`` or ``sweep run`` leaves no orphans that go on
simulating or training with nobody collecting their results.

:func:`cli_signals` is what the command line runs under: SIGTERM and SIGHUP raise
:class:`Terminated` (a ``KeyboardInterrupt``) in the main thread, so pools are shut down, locks
released and temporary files removed exactly as for Ctrl-C; a second such signal kills at once.
SIGXFSZ is ignored, so hitting a file-size limit (``ulimit -f``) is an ``OSError`` (EFBIG) that
can be reported in one line instead of a silent core dump. Free of torch and numpy imports.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_SECONDS = 1.0


class Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP) turned into an exception in the main thread."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _set_parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, seconds: float) -> None:
    while True:
        time.sleep(seconds)
        if os.getppid() != parent_pid:  # re-parented: the parent is gone
            os._exit(1)


def bind_to_parent(parent_pid: int, seconds: float = WATCH_SECONDS) -> None:
    """Make this (worker) process die when ``parent_pid``, its parent, dies."""
    _set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid, seconds), daemon=True,
                     name="eqscale-parent-watch").start()


@contextmanager
def cli_signals() -> Iterator[None]:
    """Run the ``with`` block with SIGTERM/SIGHUP raising :class:`Terminated` (once; a second
    signal has its default effect) and SIGXFSZ ignored; the previous handlers come back after.
    Outside the main thread signals cannot be handled and the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, object] = {}

    def terminate(signum: int, frame: object) -> None:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        raise Terminated(signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, terminate)
    if hasattr(signal, "SIGXFSZ"):
        previous[signal.SIGXFSZ] = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
