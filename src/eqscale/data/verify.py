"""Verify a dataset before it is used, once: checksums, finite values, token meshes with faces.

Training, evaluation and sweeps call :func:`verify_dataset` before they read a split, so a shard
with flipped bytes, NaN or infinite values, or a shape left without token faces is refused with
one line naming the file instead of silently changing results. Every array file's SHA-256 must
equal the manifest's, and every float array must be finite.

Checking is cheap after the first time: a cache file per dataset (under ``$EQSCALE_CACHE`` or
``~/.cache/eqscale``, ``verified/<hash of the dataset's absolute path>.json``) remembers each
file that passed with its size, modification and change times and inode; a file whose ``stat``
still matches is not read again. Files changed less than :data:`SETTLE_SECONDS` ago are
checked but not remembered, because file timestamps tick coarsely (a rewrite within the same
tick could otherwise pass for the verified file). An unwritable cache only costs re-checking.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from eqscale.atomic import write_json_atomic
from eqscale.data.format import ARRAYS, SPLITS, read_manifest, sha256_file
from eqscale.errors import DatasetError
from eqscale.oserrors import storage_error

SETTLE_SECONDS = 2.0
CACHE_VERSION = 1


def cache_file(root: Path) -> Path | None:
    """Where the verification record of dataset ``root`` is kept (None: no home folder)."""
    try:
        base = Path(os.environ.get("EQSCALE_CACHE") or Path.home() / ".cache" / "eqscale")
    except RuntimeError:
        return None
    key = hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()[:24]
    return base / "verified" / f"{key}.json"


def _load_cache(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or record.get("version") != CACHE_VERSION:
        return {}
    files = record.get("files")
    return files if isinstance(files, dict) else {}


def _save_cache(path: Path | None, root: Path, files: dict) -> None:
    if path is None:
        return
    try:
        write_json_atomic(path, {"version": CACHE_VERSION, "root": os.path.realpath(root),
                                 "files": files})
    except OSError:
        return  # a read-only or full cache folder: verification is simply repeated next time
    for other in path.parent.glob("*.json"):  # forget datasets that no longer exist
        try:
            if not Path(json.loads(other.read_text()).get("root", "")).is_dir():
                other.unlink()
        except (OSError, ValueError, AttributeError):
            continue


def check_shapes(root: Path, manifest: dict) -> None:
    """Every shape has a token mesh of at least one face (a token per face: none, no input)."""
    where = Path(root) / "manifest.json"
    shapes = manifest.get("shapes")
    if not isinstance(shapes, list) or not shapes:
        raise DatasetError(f"{where}: no shapes listed")
    fpo = manifest.get("config", {}).get("faces_per_object")
    for shape in shapes:
        faces, verts = shape.get("token_faces") or [], shape.get("token_vertices") or []
        if len(faces) < 1 or len(verts) < 3:
            raise DatasetError(
                f"{where}: shape {shape.get('name')!r} has no token faces (faces per object "
                f"{fpo} left it empty); regenerate the dataset with a larger --faces-per-object "
                "or with this version of eqscale, which keeps at least one face per shape")


def _check_file(path: Path, expected: str | None, dtype: str) -> None:
    """The file's checksum equals ``expected`` and, for floats, every value is finite."""
    try:
        digest = sha256_file(path)
    except FileNotFoundError:
        raise DatasetError(f"missing array file {path}") from None
    except OSError as exc:
        raise storage_error(exc, path) from None
    if digest != expected:
        raise DatasetError(f"{path}: checksum mismatch with the manifest (the file changed or "
                           "is corrupt); restore it or regenerate the dataset (`eqscale inspect` "
                           "shows every problem)")
    if np.dtype(dtype).kind != "f":
        return
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except OSError as exc:
        if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM):
            raise storage_error(exc, path) from None
        raise DatasetError(f"corrupt array file {path}: {exc}") from None
    except (ValueError, EOFError) as exc:
        raise DatasetError(f"corrupt array file {path}: {exc}") from None
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    del array
    if bad:
        raise DatasetError(f"{path}: {bad} NaN or infinite value(s); the data cannot be "
                           "trained or evaluated on: regenerate the dataset or restore the file")


def verify_dataset(root: str | Path, splits: Iterable[str] = SPLITS,
                   manifest: dict | None = None) -> dict:
    """Verify ``splits`` of the complete dataset at ``root`` (see the module doc); returns its
    manifest. The first problem is a one-line :class:`DatasetError` naming the file."""
    root = Path(root)
    manifest = manifest if manifest is not None else read_manifest(root)
    check_shapes(root, manifest)
    where = cache_file(root)
    cache = _load_cache(where)
    changed, now = False, time.time()
    for split in splits:
        info = manifest.get("splits", {}).get(split)
        if not isinstance(info, dict):
            raise DatasetError(f"{root / 'manifest.json'}: no split {split!r}")
        for entry in info.get("shards", []):
            for name, (dtype, _) in ARRAYS.items():
                rel = f"{entry['path']}/{name}.npy"
                path = root / rel
                expected = entry.get("sha256", {}).get(name)
                try:
                    st = path.stat()
                except FileNotFoundError:
                    raise DatasetError(f"missing array file {path}") from None
                except OSError as exc:
                    raise storage_error(exc, path) from None
                key = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, expected]
                if cache.get(rel) == key:
                    continue
                _check_file(path, expected, dtype)
                if min(now - st.st_mtime, now - st.st_ctime) > SETTLE_SECONDS:
                    cache[rel], changed = key, True
    if changed:
        _save_cache(where, root, cache)
    return manifest
