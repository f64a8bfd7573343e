"""The dataset on disk (docs/data.md, a public contract): ``manifest.json`` + ``.npy`` shards.

Layout::

    DIR/manifest.json
    DIR/<split>/shard_00000/{positions,quaternions,mask,...}.npy   # T_shard trajectories each

A shard folder is written under a hidden temporary name and renamed into place when complete,
so a killed generation never leaves a half-written shard visible. The manifest lists every
shard with its trajectory count and the SHA-256 of each array file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from eqscale import atomic
from eqscale.atomic import write_json_atomic
from eqscale.errors import DatasetError

FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")

MAX_OBJECTS = 10  # K: object slots per trajectory (3 to 10 are real, the rest padding)
FRAMES = 25  # F: frames per trajectory, 0 .. 24

# name -> (dtype, shape after the leading trajectory axis T)
K, F = MAX_OBJECTS, FRAMES
ARRAYS: dict[str, tuple[str, tuple[int, ...]]] = {
    "positions": ("float32", (K, F, 3)),
    "quaternions": ("float32", (K, F, 4)),
    "mask": ("bool", (K,)),
    "shape_id": ("int64", (K,)),
    "material_id": ("int64", (K,)),
    "scale": ("float32", (K,)),
    "mass": ("float32", (K,)),
    "friction": ("float32", (K,)),
    "restitution": ("float32", (K,)),
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


def mappable_shards(cap: int = 64) -> int:
    """How many shards one split may keep mapped: a quarter of this process's open-file limit,
    at one descriptor per array (at least 1, at most ``cap``)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 8
    if soft == resource.RLIM_INFINITY:
        return cap
    return max(1, min(cap, soft // 4 // len(ARRAYS)))


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Reading array file ``path``: its problems as one-line errors; running out of file
    descriptors or memory is the process's trouble (StorageError), not a corrupt file."""
    try:
        yield
    except FileNotFoundError:
        raise DatasetError(f"missing array file {path}") from None
    except OSError as exc:
        if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EACCES):
            from eqscale.oserrors import storage_error

            raise storage_error(exc, path) from None
        raise DatasetError(f"corrupt array file {path}: {exc}") from None
    except (ValueError, EOFError) as exc:
        raise DatasetError(f"corrupt array file {path}: {exc}") from None


def _expect(path: Path, entry: dict, name: str, dtype: np.dtype, shape: tuple,
            fortran: bool = False) -> None:
    """Array ``name`` of shard ``entry`` has the format's dtype and shape (C order)."""
    want_dtype, want_shape = ARRAYS[name]
    if dtype != np.dtype(want_dtype) or shape != (entry["count"], *want_shape) or fortran:
        raise DatasetError(f"{path}: expected {want_dtype} {(entry['count'], *want_shape)}, "
                           f"found {dtype} {shape}")


class SplitArrays:
    """The arrays of one split, across its shards, indexed by trajectory.

    Every array file is checked up front (it exists; its header's dtype and shape are the
    format's), reading only its header. The data are memory-mapped on first use, a shard at a
    time, and at most ``open_shards`` shards stay mapped (least recently used first out; by
    default :func:`mappable_shards`): each mapped array holds a file descriptor, so a
    paper-scale split of hundreds of shards opened whole would run a process out of them.
    """

    def __init__(self, root: str | Path, split: str, manifest: dict | None = None,
                 open_shards: int | None = None):
        self.root = Path(root)
        self.manifest = manifest if manifest is not None else read_manifest(root)
        if split not in self.manifest["splits"]:
            raise DatasetError(f"{self.root}: no split {split!r}")
        self.split = split
        self.entries: list[dict] = list(self.manifest["splits"][split]["shards"])
        self.open_shards = max(1, open_shards or mappable_shards())
        self._mapped: dict[int, dict[str, np.ndarray]] = {}  # shard -> arrays, in use order
        starts = [0]
        for entry in self.entries:
            for name in ARRAYS:
                self._check_header(entry, name)
            starts.append(starts[-1] + entry["count"])
        self.starts = np.asarray(starts)

    @property
    def n_shards(self) -> int:
        return len(self.entries)

    def _path(self, entry: dict, name: str) -> Path:
        return self.root / entry["path"] / f"{name}.npy"

    def _check_header(self, entry: dict, name: str) -> None:
        path = self._path(entry, name)
        with _reading(path):
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(f)
                size = f.tell() + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
                if os.fstat(f.fileno()).st_size < size:
                    raise ValueError(f"the file is shorter than its {size} bytes (truncated)")
        _expect(path, entry, name, dtype, shape, fortran)

    def shard(self, index: int) -> dict[str, np.ndarray]:
        """The memory-mapped arrays of shard ``index`` (mapped now if they are not)."""
        arrays = self._mapped.pop(index, None)
        if arrays is None:
            if len(self._mapped) >= self.open_shards:  # unmap the least recently used
                self._mapped.pop(next(iter(self._mapped)))
            arrays = {name: self._load(self.entries[index], name) for name in ARRAYS}
        self._mapped[index] = arrays  # now the most recently used
        return arrays

    def _load(self, entry: dict, name: str) -> np.ndarray:
        path = self._path(entry, name)
        with _reading(path):
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        _expect(path, entry, name, array.dtype, array.shape)  # the file may have changed
        return array

    def __getstate__(self) -> dict:  # DataLoader workers map their own shards
        return {**self.__dict__, "_mapped": {}}

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
        return {name: np.array(a[local]) for name, a in self.shard(shard).items()}

    def array(self, name: str) -> np.ndarray:
        """One array over the whole split, concatenated (T, ...)."""
        dtype, shape = ARRAYS[name]
        if not self.entries:
            return np.zeros((0, *shape), dtype)
        return np.concatenate([np.array(self.shard(i)[name]) for i in range(self.n_shards)])
