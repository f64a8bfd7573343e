"""Folder locks: one eqscale process at a time works in a study, run or dataset folder.

A lock is an exclusive ``flock`` on the hidden file ``FOLDER/.eqscale.lock``. The kernel drops
it when the holder exits, however it exits (``kill -9`` included), so a lock left behind by a
dead process is simply taken over: there is no stale state to clean up and no race in doing so.
While held, the file records who holds it (host, pid, start time, command), which a second
process prints before it exits with code 2. A process may take the same lock again while it
holds it (re-entrant), e.g. a sweep that trains its runs in-process.

On a file system without ``flock`` support (some network mounts) the folder is used unlocked
with a warning on stderr.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from eqscale.errors import LockedError
from eqscale.oserrors import ensure_dir, storage_error

log = logging.getLogger(__name__)

LOCK_NAME = ".eqscale.lock"

_held: dict[str, list[int]] = {}  # lock file path -> [fd, depth]
_guard = threading.Lock()


def holder_record() -> dict:
    """What a lock file says about its holder: this process."""
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "since": datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300]}


def _read_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text() or "{}")
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe_holder(path: Path) -> str:
    """The holder as recorded; waits briefly for a new holder that is still writing it."""
    record = {}
    for _ in range(10):
        record = _read_record(path)
        mine = record.get("host") == socket.gethostname()
        if record and (not mine or _alive(record.get("pid"))):
            break
        time.sleep(0.05)
    if not record:
        return "another eqscale process"
    text = (f"another eqscale process (host {record.get('host', '?')}, "
            f"pid {record.get('pid', '?')}, since {record.get('since', '?')}")
    if record.get("command"):
        text += f": {record['command']}"
    return text + ")"


def _acquire(path: Path, what: str, folder: Path) -> int | None:
    """Lock ``path``; the open descriptor, or None where the file system cannot lock."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:  # e.g. a read-only folder: name the folder the user gave
        raise storage_error(exc, folder) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LockedError(f"{what} {folder} is in use by {_describe_holder(path)}; wait for it "
                          "to finish or stop it, then run the same command again") from None
    except OSError as exc:
        if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            os.close(fd)
            raise storage_error(exc, path) from None
        log.warning(f"cannot lock {path} ({exc.strerror}); make sure no other eqscale process "
                    "works in this folder")
        os.close(fd)
        return None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder_record()) + "\n").encode(), 0)
    except OSError as exc:
        os.close(fd)
        raise storage_error(exc, path) from None
    return fd


@contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "folder") -> Iterator[Path]:
    """Hold the lock of ``folder`` (created if missing) for the ``with`` block.

    ``what`` names the folder in messages ("study directory", "run directory", ...). Another
    process holding it is a :class:`LockedError` (exit code 2) that says who holds it.
    """
    folder = ensure_dir(folder, what)
    path = folder / LOCK_NAME
    key = os.path.realpath(path)
    with _guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is None:
        fd = _acquire(path, what, folder)
        with _guard:
            _held[key] = entry = [fd, 1]
    try:
        yield folder
    finally:
        with _guard:
            entry[1] -= 1
            last = entry[1] == 0
            if last:
                _held.pop(key, None)
        if last and entry[0] is not None:
            try:
                os.ftruncate(entry[0], 0)
            except OSError:
                pass
            os.close(entry[0])  # closing the last descriptor releases the flock


def is_locked(folder: str | os.PathLike) -> bool:
    """Whether some process (this one included) holds the lock of ``folder`` right now."""
    import fcntl

    path = Path(folder) / LOCK_NAME
    if os.path.realpath(path) in _held:
        return True
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
