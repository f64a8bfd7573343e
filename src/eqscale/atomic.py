"""Atomic file writes: a temp file in the target's folder, then ``os.replace``; never half-visible.

A reader (or a run killed at any moment) sees either the old file or the new one, never part of
one, because ``os.replace`` within one folder (one file system) is atomic. The temp file is a
hidden ``.NAME.RANDOM.tmp`` beside the target, created with the usual permissions (``0o666``
less the umask, like ``open()``), and removed when the write fails.

:func:`write_json_atomic` is the package's one JSON writer. Every write is flushed and synced to
disk before the move, so a power cut after a write returns cannot leave an empty file behind.
Free of torch and numpy imports: every layer (``scaling`` included, which must not import
torch) uses it.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from eqscale.jsonsafe import json_safe


def _create_temp(path: Path, suffix: str) -> Path:
    """A new empty hidden file beside ``path``; the kernel applies the umask to ``0o666``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name beside {path}")


@contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path beside ``path`` to write to; on success move it onto ``path``.

    The parent folder is created. The temp file already exists (empty) when yielded; writers
    that open by name (``open``, ``torch.save``, ``savefig``) simply overwrite it. Give
    ``suffix=".npy"`` for ``np.save``, which appends ``.npy`` to a name lacking it. On any
    exception inside the block the temp file is removed and the target left untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_temp(path, suffix)
    except OSError as exc:
        if exc.filename is None or str(exc.filename).endswith(suffix):
            exc.filename = str(path)  # name the target, not the hidden temp file
        raise
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        cause = write_failure(exc, tmp, path) if isinstance(exc, Exception) else None
        tmp.unlink(missing_ok=True)
        if cause is not None and cause is not exc:
            raise cause from exc
        raise


def write_failure(exc: BaseException, written: str | os.PathLike,
                  target: str | os.PathLike) -> OSError | None:
    """The operating-system error behind a failed write of ``written`` (on its way to
    ``target``), naming ``target``; None when the failure was not the file system's.

    An ``OSError`` with an errno gets ``target`` as its file name when it has none. Writers
    that lose the errno (NumPy's "N requested and M written", torch's zip writer's
    ``RuntimeError``) are diagnosed from the file-size limit and the free space, so a full disk
    or ``ulimit -f`` reads as ``ENOSPC`` or ``EFBIG`` either way.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.filename is None or exc.filename == os.fspath(written):
            exc.filename = os.fspath(target)
        return exc
    if not isinstance(exc, OSError | RuntimeError):
        return None
    try:
        size = os.stat(written).st_size
    except OSError:
        size = 0
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if soft != resource.RLIM_INFINITY and size >= soft:
            return OSError(errno.EFBIG, os.strerror(errno.EFBIG), os.fspath(target))
    except (ImportError, OSError, ValueError):
        pass
    try:
        st = os.statvfs(Path(written).parent)
        free = st.f_bfree if os.geteuid() == 0 else st.f_bavail
        if free * st.f_frsize < (1 << 20):
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(target))
    except OSError:
        pass
    return None


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(f)`` on a binary file beside ``path``, flush and sync it, then move it onto
    ``path`` (:func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    write_atomic(path, lambda f: f.write(data))


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode())


def write_json_atomic(path: str | os.PathLike, obj: Any, *, indent: int | None = 1,
                      sort_keys: bool = False, note_non_finite: bool = True) -> None:
    """Write ``obj`` as JSON plus a final newline to ``path`` atomically.

    Non-finite numbers, which are not JSON, become ``null``; with ``note_non_finite`` a dict
    also gets one line per replaced value in its ``notes`` (:func:`eqscale.jsonsafe.json_safe`).
    Numpy and torch scalars are written as numbers, tuples as lists.
    """
    clean = json_safe(obj, note=note_non_finite)
    text = json.dumps(clean, indent=indent, sort_keys=sort_keys, allow_nan=False)
    write_text_atomic(path, text + "\n")
