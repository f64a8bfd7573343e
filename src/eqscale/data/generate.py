"""``eqscale generate``: simulate trajectories into a sharded dataset, in parallel, resumably.

The dataset is defined by its config and seed range: trajectory ``i`` of a split has the seed
:func:`trajectory_seed` (base seed, split, i), independent of sharding and worker count, so 1 or
N workers (local process pool or Ray) write bit-identical arrays. Shards are the unit of
resumption: a rerun after a kill keeps finished shards and redoes only the missing ones.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from eqscale.atomic import write_json_atomic
from eqscale.backends import make_backend
from eqscale.data import format as fmt
from eqscale.data.footprint import dataset_bytes
from eqscale.data.shapes import ShapeSet, load_shape_set
from eqscale.data.simulate import (
    FLOOR,
    FRAME_RATE,
    FRAMES,
    GRAVITY,
    MATERIALS,
    MAX_OBJECTS,
    STEPS_PER_FRAME,
    BulletClient,
    simulate_trajectory,
)
from eqscale.errors import DatasetError, EqscaleError, StorageError
from eqscale.locks import folder_lock

CHUNK = 4  # trajectories per task sent to a worker: small for load balance, large vs overhead
MAX_TRAJECTORIES = 10_000_000  # per split: the manifest lists every shard (paper preset: 4e5)


def trajectory_seed(base_seed: int, split: str, index: int) -> int:
    """The reproducing seed of trajectory ``index`` of ``split`` (non-negative int64)."""
    state = np.random.SeedSequence([base_seed, fmt.SPLITS.index(split), index]).generate_state(
        2, np.uint32)
    return int((int(state[0]) << 31) | (int(state[1]) >> 1))


@lru_cache(maxsize=4)
def cached_shape_set(spec: str, faces_per_object: int) -> ShapeSet:
    """Per-process memo: each worker loads (from the on-disk cache) the shape set once."""
    return load_shape_set(spec, faces_per_object)


_WORKER: dict = {}


def _init_worker(shapes: ShapeSet) -> None:
    """Pool-worker start: the parent's shape set (no rebuilding) and this process's own DIRECT
    client, disconnected when the worker exits."""
    import multiprocessing.util

    _WORKER["shapes"] = shapes
    client = BulletClient()
    _WORKER["client"] = client.__enter__()
    multiprocessing.util.Finalize(None, client.__exit__, args=(None, None, None), exitpriority=10)


def simulate_seeds(spec: str, faces_per_object: int, seeds: list[int],
                   client: tuple | None = None) -> list[dict]:
    """Simulate ``seeds`` with ``client`` (pb, id), by default this worker's own client."""
    shapes = _WORKER.get("shapes")
    if shapes is None or (shapes.spec, shapes.faces_per_object) != (spec, faces_per_object):
        shapes = cached_shape_set(spec, faces_per_object)
    if client is None:
        if "client" not in _WORKER:  # a Ray worker: connect once, disconnect at exit
            import atexit

            bullet = BulletClient()
            _WORKER["client"] = bullet.__enter__()
            atexit.register(bullet.__exit__, None, None, None)
        client = _WORKER["client"]
    pb, cid = client
    return [simulate_trajectory(pb, cid, shapes, int(s)) for s in seeds]


def _manifest(config: dict, shapes: ShapeSet, counts: dict[str, int]) -> dict:
    return {
        "format_version": fmt.FORMAT_VERSION,
        "status": "generating",
        "config": config,
        "frame_rate": FRAME_RATE,
        "frames": FRAMES,
        "steps_per_frame": STEPS_PER_FRAME,
        "max_objects": MAX_OBJECTS,
        "floor": list(FLOOR),
        "gravity": list(GRAVITY),
        "shapes": [
            {"name": s.name, "volume": s.volume,
             "token_vertices": np.round(s.token_vertices, 7).tolist(),
             "token_faces": s.token_faces.tolist()}
            for s in shapes.shapes
        ],
        "materials": [m.__dict__ for m in MATERIALS],
        "splits": {split: {"count": n, "shards": []} for split, n in counts.items()},
    }


def _check_args(counts: dict[str, int], seed: int, workers: int, shard_size: int,
                backend: str) -> None:
    for split, n in counts.items():
        if n < 0:
            raise EqscaleError(f"--{split} must be >= 0, got {n}")
        if n > MAX_TRAJECTORIES:
            raise EqscaleError(f"--{split} {n} is more than the {MAX_TRAJECTORIES:,} "
                               "trajectories a split may hold (the manifest lists every shard); "
                               "generate fewer")
    if seed < 0:
        raise EqscaleError(f"--seed must be >= 0, got {seed}")
    if workers < 1:
        raise EqscaleError(f"--workers must be >= 1, got {workers}")
    if shard_size < 1:
        raise EqscaleError(f"--shard-size must be >= 1, got {shard_size}")
    if backend not in ("local", "ray"):
        raise EqscaleError(f"unknown backend {backend!r}: use 'local' or 'ray'")


def _simulate_task(task: tuple[str, int, list[int]]) -> list[dict]:
    """One backend task: ``simulate_seeds(spec, faces_per_object, seeds)``."""
    return simulate_seeds(*task)


@contextmanager
def _process_client(backend: str):
    """This process's DIRECT client for tasks the local backend runs in-process (one worker or
    one task); pool workers get theirs from :func:`_init_worker`, Ray workers on first use."""
    if backend != "local" or "client" in _WORKER:
        yield
        return
    with BulletClient() as client:
        _WORKER["client"] = client
        try:
            yield
        finally:
            _WORKER.pop("client", None)


def generate_dataset(out: str | Path, n_train: int, n_val: int, n_test: int, seed: int = 0,
                     workers: int = 1, shapes: str = "procedural", faces_per_object: int = 64,
                     shard_size: int = 32, backend: str = "local", ray_address: str | None = None,
                     progress: bool = True) -> Path:
    """Create (or resume) the dataset at ``out``; returns its path.

    The folder is locked while generating (:mod:`eqscale.locks`): a second generation into it
    is refused with the holder's host and pid.
    """
    root = Path(out)
    counts = {"train": n_train, "val": n_val, "test": n_test}
    _check_args(counts, seed, workers, shard_size, backend)
    if root.exists() and not root.is_dir():
        raise StorageError(f"--out {root} is an existing file, not a folder; choose another --out")
    config = {"shapes": shapes, "faces_per_object": faces_per_object, "seed": seed,
              "n_train": n_train, "n_val": n_val, "n_test": n_test, "shard_size": shard_size}
    if _finished(root, config):
        return root
    with folder_lock(root, "dataset directory"):
        if _finished(root, config):  # another process finished it meanwhile
            return root
        shape_set = cached_shape_set(shapes, faces_per_object)
        _generate(root, config, counts, shape_set, workers, backend, ray_address, progress)
    return root


def _finished(root: Path, config: dict) -> bool:
    """Whether ``root`` holds the complete dataset of ``config``; refuses another config."""
    if not (root / "manifest.json").exists():
        return False
    old = fmt.read_manifest(root, require_complete=False)
    if old.get("config") != config:
        raise DatasetError(f"{root} holds a dataset with another config {old.get('config')}; "
                           "choose a new --out or repeat the original arguments")
    return old.get("status") == "complete"


class _Tasks(Sequence):
    """The backend's items, made on demand: task ``t`` is ``CHUNK`` seeds of one missing shard
    (so a huge dataset costs no memory before its first trajectory)."""

    def __init__(self, jobs: list[tuple[str, int, int, int]], spec: str, fpo: int,
                 base_seed: int) -> None:
        self.jobs, self.spec, self.fpo, self.base_seed = jobs, spec, fpo, base_seed
        chunks = [-(-(stop - start) // CHUNK) for _, _, start, stop in jobs]
        self.first = np.concatenate([[0], np.cumsum(chunks, dtype=np.int64)])

    def __len__(self) -> int:
        return int(self.first[-1])

    def job_of(self, t: int) -> int:
        return int(np.searchsorted(self.first, t, side="right") - 1)

    def chunks(self, j: int) -> int:
        return int(self.first[j + 1] - self.first[j])

    def __getitem__(self, t: int) -> tuple[str, int, list[int]]:  # type: ignore[override]
        if not 0 <= t < len(self):
            raise IndexError(t)
        j = self.job_of(t)
        split, _, start, stop = self.jobs[j]
        lo = start + (t - int(self.first[j])) * CHUNK
        seeds = [trajectory_seed(self.base_seed, split, i)
                 for i in range(lo, min(stop, lo + CHUNK))]
        return self.spec, self.fpo, seeds


def generation_plan(counts: dict[str, int], shard_size: int, workers: int, shapes: str,
                    faces_per_object: int, seed: int, sample: int = 3) -> dict:
    """``eqscale generate --dry-run``: per split the trajectories and shards, the disk size,
    seconds per trajectory measured on ``sample`` trajectories of the train split's seeds (in
    this process, after one warm-up), and the wall time that gives at ``workers`` workers (an
    ideal split: each worker on a core of its own). Writes nothing."""
    _check_args(counts, seed, workers, shard_size, "local")
    splits = {s: {"trajectories": n, "shards": math.ceil(n / shard_size)}
              for s, n in counts.items()}
    total = sum(counts.values())
    shards = sum(v["shards"] for v in splits.values())
    seeds = [trajectory_seed(seed, "train", i) for i in range(sample)]
    with BulletClient() as client:
        simulate_seeds(shapes, faces_per_object, seeds[:1], client=client)  # warm: shapes loaded
        start = time.perf_counter()
        simulate_seeds(shapes, faces_per_object, seeds, client=client)
        per_trajectory = (time.perf_counter() - start) / sample
    return {"splits": splits, "trajectories": total, "shards": shards,
            "bytes": dataset_bytes(total, shards), "seconds_per_trajectory": per_trajectory,
            "workers": workers, "estimated_seconds": total * per_trajectory / workers,
            "measured_on": sample}


def _check_space(root: Path, trajectories: int, shards: int) -> None:
    """Refuse up front a dataset that cannot fit in the free space of ``root``'s disk."""
    needed = dataset_bytes(trajectories, shards)
    try:
        free = shutil.disk_usage(root).free
    except OSError:
        return
    if needed > free:
        raise StorageError(f"--out {root}: the remaining {trajectories} trajectories need about "
                           f"{needed / 1e9:.3g} GB but only {free / 1e9:.3g} GB are free there; "
                           "free some space, choose another --out or generate fewer trajectories")


def _generate(root: Path, config: dict, counts: dict[str, int], shape_set: ShapeSet,
              workers: int, backend: str, ray_address: str | None, progress: bool) -> None:
    """Plan the missing shards, simulate them on the backend, write them and the manifest."""
    from tqdm import tqdm

    if (root / "manifest.json").exists():
        manifest = fmt.read_manifest(root, require_complete=False)
    else:
        manifest = _manifest(config, shape_set, counts)
        write_json_atomic(root / "manifest.json", manifest)
    fmt.remove_partial(root)

    total = sum(counts.values())
    with tqdm(total=total, unit="traj", desc=f"generate {root.name}", disable=not progress,
              file=sys.stderr) as bar:
        entries = _simulate_missing(root, config, counts, shape_set, workers, backend,
                                    ray_address, bar)
    for split in counts:
        manifest["splits"][split]["shards"] = [
            entries[key] for key in sorted(k for k in entries if k[0] == split)]
    manifest["status"] = "complete"
    write_json_atomic(root / "manifest.json", manifest)


def _simulate_missing(root: Path, config: dict, counts: dict[str, int], shape_set: ShapeSet,
                      workers: int, backend: str, ray_address: str | None,
                      bar) -> dict[tuple[str, int], dict]:
    """Every shard's manifest entry: kept if finished and intact, else simulated and written."""
    seed, shard_size = config["seed"], config["shard_size"]
    # Plan: every shard of every split; finished ones (files matching their checksums) kept.
    jobs, entries = [], {}
    for split, n in counts.items():
        split_dir = root / split
        present = {p.name for p in split_dir.iterdir()} if split_dir.is_dir() else set()
        for index, start in enumerate(range(0, n, shard_size)):
            stop = min(n, start + shard_size)
            entry = None
            if fmt.shard_name(index) in present:
                entry = fmt.read_shard_entry(split_dir, index, stop - start)
            if entry is not None:
                entries[split, index] = entry
                bar.update(stop - start)
            else:
                jobs.append((split, index, start, stop))
    tasks = _Tasks(jobs, shape_set.spec, shape_set.faces_per_object, seed)
    _check_space(root, sum(stop - start for _, _, start, stop in jobs), len(jobs))

    # Outcomes arrive as tasks finish; a shard's rows are put back in task order, so the
    # files do not depend on the backend or the worker count.
    done: dict[int, dict[int, list]] = {}
    pending: dict[int, int] = {}
    # Local pool workers get the parent's shape set (no rebuilding); a local Ray gets
    # ``workers`` CPUs and Ray's default object store (tasks return whole trajectories).
    with make_backend(backend, workers=workers, threads=1, ray_address=ray_address,
                      initializer=_init_worker, initargs=(shape_set,),
                      object_store_mb=None) as runner, _process_client(backend):
        for outcome in runner.map_unordered(_simulate_task, tasks):
            if not outcome.ok:
                raise EqscaleError(f"generation task {outcome.index} failed: {outcome.error}; "
                                   "finished shards are kept, run the same command to resume")
            j = tasks.job_of(outcome.index)
            done.setdefault(j, {})[outcome.index] = outcome.value
            bar.update(len(outcome.value))
            pending[j] = pending.get(j, tasks.chunks(j)) - 1
            if pending[j] == 0:
                split, index, _, _ = jobs[j]
                chunks = done.pop(j)
                rows = [row for t in sorted(chunks) for row in chunks[t]]
                entries[split, index] = fmt.write_shard(root / split, index, rows)
    return entries
