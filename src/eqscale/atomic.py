"""Atomic file writes: a temp file in the target's folder, then ``os.replace``; never half-visible.

A reader (or a run killed at any moment) sees either the old file or the new one, never part of
one, because ``os.replace`` within one folder (one file system) is atomic. The temp file is a
hidden ``.NAME.RANDOM.tmp`` beside the target, created with the usual permissions (``0o666``
less the umask, like ``open()``), and removed when the write fails.

Deliberately free of eqscale, torch and numpy imports: every layer (``scaling`` included, which
must not import torch) uses it.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode())


def write_json_atomic(path: str | os.PathLike, obj: Any, **json_kwargs: Any) -> None:
    """Write ``json.dumps(obj, **json_kwargs)`` plus a final newline to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, **json_kwargs) + "\n")
