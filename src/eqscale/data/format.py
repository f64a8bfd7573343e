"""The dataset on disk (SPEC 2, a public contract): ``manifest.json`` plus sharded ``.npy`` arrays.

Layout::

    DIR/manifest.json
    DIR/<split>/shard_00000/{positions,quaternions,mask,...}.npy   # T_shard trajectories each

A shard folder is written under a hidden temporary name and renamed into place when complete,
so a killed generation never leaves a half-written shard visible. The manifest lists every
shard with its trajectory count and the SHA-256 of each array file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from eqscale import atomic
from eqscale.errors import DatasetError

FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")

# name -> (dtype, shape after the leading trajectory axis T); K = 10 objects, F = 25 frames
ARRAYS: dict[str, tuple[str, tuple[int, ...]]] = {
    "positions": ("float32", (10, 25, 3)),
    "quaternions": ("float32", (10, 25, 4)),
    "mask": ("bool", (10,)),
    "shape_id": ("int64", (10,)),
    "material_id": ("int64", (10,)),
    "scale": ("float32", (10,)),
    "mass": ("float32", (10,)),
    "friction": ("float32", (10,)),
    "restitution": ("float32", (10,)),
    "floor": ("float32", (4,)),
    "gravity": ("float32", (3,)),
    "seed": ("int64", ()),
}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, content: dict) -> None:
    """Write ``content`` as JSON (indent 1), atomically (:mod:`eqscale.atomic`)."""
    atomic.write_json_atomic(path, content, indent=1)


def shard_name(index: int) -> str:
    return f"shard_{index:05d}"


def write_shard(split_dir: Path, index: int, rows: list[dict[str, np.ndarray]]) -> dict:
    """Stack trajectory rows into one shard folder, atomically; its manifest entry."""
    split_dir.mkdir(parents=True, exist_ok=True)
    final = split_dir / shard_name(index)
    tmp = split_dir / f".{shard_name(index)}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    checksums, current = {}, tmp / "shard.json"
    try:
        for name, (dtype, _) in ARRAYS.items():
            array = np.stack([row[name] for row in rows]).astype(dtype, copy=False)
            current = tmp / f"{name}.npy"
            np.save(current, array)
            checksums[name] = sha256_file(current)
        entry = {"path": f"{split_dir.name}/{final.name}", "count": len(rows),
                 "sha256": checksums}
        write_json_atomic(tmp / "shard.json", entry)
        os.replace(tmp, final)
    except BaseException as exc:
        # Full disk, file-size limit, kill: no half-written shard stays behind; the error
        # names the shard, not the hidden temporary folder.
        cause = (atomic.write_failure(exc, current, final / current.name)
                 if isinstance(exc, Exception) else None)
        shutil.rmtree(tmp, ignore_errors=True)
        if cause is not None and cause is not exc:
            raise cause from exc
        if isinstance(exc, OSError) and str(tmp) in str(exc.filename):
            exc.filename = str(final)
        raise
    return entry


def read_shard_entry(split_dir: Path, index: int, count: int) -> dict | None:
    """The entry of a finished shard of ``count`` trajectories whose files match their
    checksums; None (to redo it) if it was never completed or did not survive intact."""
    folder = split_dir / shard_name(index)
    try:
        entry = json.loads((folder / "shard.json").read_text())
        intact = entry["count"] == count and all(
            sha256_file(folder / f"{name}.npy") == entry["sha256"][name] for name in ARRAYS)
    except (OSError, ValueError, KeyError, TypeError):
        intact = False
    if not intact:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return entry


def remove_partial(root: Path) -> None:
    """Delete hidden temporary shards a killed run left behind."""
    for split in SPLITS:
        for tmp in (root / split).glob(".shard_*.tmp"):
            shutil.rmtree(tmp, ignore_errors=True)


def read_manifest(root: str | Path, require_complete: bool = True) -> dict:
    """The parsed manifest of dataset ``root``; DatasetError naming the problem otherwise."""
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise DatasetError(f"not a dataset: {path} is missing")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"corrupt manifest {path}: {exc}") from None
    except OSError as exc:
        from eqscale.oserrors import storage_error

        raise storage_error(exc, path) from None
    if not isinstance(manifest, dict):
        raise DatasetError(f"corrupt manifest {path}: not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DatasetError(f"{path}: unsupported format version {manifest.get('format_version')}")
    if require_complete and manifest.get("status") != "complete":
        raise DatasetError(f"{path}: dataset is incomplete; rerun the same generate command")
    return manifest


class SplitArrays:
    """The memory-mapped arrays of one split, across its shards, indexed by trajectory."""

    def __init__(self, root: str | Path, split: str, manifest: dict | None = None):
        self.root = Path(root)
        self.manifest = manifest if manifest is not None else read_manifest(root)
        if split not in self.manifest["splits"]:
            raise DatasetError(f"{self.root}: no split {split!r}")
        self.split = split
        self.shards: list[dict[str, np.ndarray]] = []
        starts = [0]
        for entry in self.manifest["splits"][split]["shards"]:
            arrays = {name: self._load(entry, name) for name in ARRAYS}
            self.shards.append(arrays)
            starts.append(starts[-1] + entry["count"])
        self.starts = np.asarray(starts)

    def _load(self, entry: dict, name: str) -> np.ndarray:
        path = self.root / entry["path"] / f"{name}.npy"
        if not path.is_file():
            raise DatasetError(f"missing array file {path}")
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EACCES):
                # Not the file's fault: every array of every shard is memory-mapped (one open
                # descriptor each), and the process ran out of them.
                from eqscale.oserrors import storage_error

                raise storage_error(exc, path) from None
            raise DatasetError(f"corrupt array file {path}: {exc}") from None
        except (ValueError, EOFError) as exc:
            raise DatasetError(f"corrupt array file {path}: {exc}") from None
        dtype, shape = ARRAYS[name]
        if array.dtype != np.dtype(dtype) or array.shape != (entry["count"], *shape):
            raise DatasetError(f"{path}: expected {dtype} {(entry['count'], *shape)}, "
                               f"found {array.dtype} {array.shape}")
        return array

    def __len__(self) -> int:
        return int(self.starts[-1])

    def locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self):
            raise DatasetError(f"trajectory index {index} out of range for split "
                               f"{self.split!r} with {len(self)} trajectories")
        shard = int(np.searchsorted(self.starts, index, side="right") - 1)
        return shard, index - int(self.starts[shard])

    def trajectory(self, index: int) -> dict[str, np.ndarray]:
        """All arrays of one trajectory (copies, so the memory map can close)."""
        shard, local = self.locate(index)
        return {name: np.array(a[local]) for name, a in self.shards[shard].items()}

    def array(self, name: str) -> np.ndarray:
        """One array over the whole split, concatenated (T, ...)."""
        dtype, shape = ARRAYS[name]
        if not self.shards:
            return np.zeros((0, *shape), dtype)
        return np.concatenate([np.asarray(s[name]) for s in self.shards])
