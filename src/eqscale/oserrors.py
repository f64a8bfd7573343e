"""Operating-system errors at the edges, as one line that names the path and what to do.

Files and folders the user names can be missing, read-only, full, on a file-size limit, or
too many to open at once. The command line (:func:`eqscale.cli.main`) turns every ``OSError``
that reaches it into ``eqscale: error: PATH: WHAT; WHAT TO DO`` with exit code 2 through
:func:`describe`; layers that know more (which argument named the path) raise
:class:`eqscale.errors.StorageError` themselves with :func:`storage_error` or
:func:`ensure_dir`. Free of torch and numpy imports, like :mod:`eqscale.atomic`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from eqscale.errors import StorageError

_FULL = "free some space (or choose another --out) and run the same command again; " \
        "finished work is kept"

# errno -> (what happened, what to do)
_MEANING: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device", _FULL),
    errno.EDQUOT: ("disk quota exceeded", _FULL),
    errno.EFBIG: ("file too large for this process's file-size limit (ulimit -f)",
                  "raise the limit (ulimit -f unlimited) and run the same command again; "
                  "finished work is kept"),
    errno.EROFS: ("read-only file system", "choose a writable location for the output"),
    errno.EACCES: ("permission denied",
                   "choose a location you can write to, or fix the folder's permissions"),
    errno.EPERM: ("operation not permitted",
                  "choose a location you can write to, or fix the folder's permissions"),
    errno.EEXIST: ("already exists and is not a folder", "choose another path"),
    errno.ENOTDIR: ("a part of this path is a file, not a folder", "choose another path"),
    errno.EISDIR: ("is a folder where a file was expected", "choose a file path"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.ENAMETOOLONG: ("file name too long", "choose a shorter path"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) or use fewer, larger "
                   "shards (generate --shard-size)"),
    errno.ENFILE: ("too many open files in the system", "close other programs or raise the "
                   "system limit (fs.file-max)"),
    errno.EIO: ("input/output error", "check the disk (dmesg) and run the same command again"),
}

# Errors of the storage itself: retrying other work on the same disk would fail the same way.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EMFILE,
                            errno.ENFILE, errno.EIO})


def _open_file_limit() -> str:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return f" (limit {soft})"
    except (ImportError, OSError, ValueError):
        return ""


def describe(exc: OSError, path: str | os.PathLike | None = None) -> str:
    """``PATH: what happened; what to do`` for ``exc`` (``path`` overrides its file name)."""
    target = path if path is not None else exc.filename
    what, advice = _MEANING.get(exc.errno or -1, (None, None))
    if what is None:
        what = (exc.strerror or str(exc) or type(exc).__name__).strip()
        advice = "check the path and run the same command again"
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        what += _open_file_limit()
    where = f"{os.fsdecode(target)}: " if target is not None else ""
    if exc.filename2 is not None and path is None:
        where = f"{os.fsdecode(exc.filename)} -> {os.fsdecode(exc.filename2)}: "
    return f"{where}{what}; {advice}"


def storage_error(exc: OSError, path: str | os.PathLike | None = None) -> StorageError:
    """The :class:`StorageError` of ``exc`` (raise it ``from None``: one line, no traceback)."""
    err = StorageError(describe(exc, path))
    err.errno = exc.errno  # type: ignore[attr-defined]
    return err


def is_storage_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the disk's fault (full, read-only, size limit, out of handles)."""
    return getattr(exc, "errno", None) in STORAGE_ERRNOS


def ensure_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """Create folder ``path`` (and its parents); a file in the way or a folder that cannot be
    created is a one-line :class:`StorageError` naming ``what`` (the argument that named it)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise StorageError(f"{what} {path} is an existing file, not a folder; "
                           f"choose another {what}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, exc.filename or path) from None
    return path


def ensure_writable_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """:func:`ensure_dir`, then prove the folder writable by creating and removing a hidden
    file, so a read-only or full location is refused before any work, not after it."""
    path = ensure_dir(path, what)
    probe = path / f".eqscale-write-test.{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except FileExistsError:
        pass
    except OSError as exc:
        raise storage_error(exc, path) from None
    return path
