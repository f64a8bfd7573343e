"""``eqscale generate``: simulate trajectories into a sharded dataset, in parallel, resumably.

The dataset is defined by its config and seed range: trajectory ``i`` of a split has the seed
:func:`trajectory_seed` (base seed, split, i), independent of sharding and worker count, so 1 or
N workers (local process pool or Ray) write bit-identical arrays. Shards are the unit of
resumption: a rerun after a kill keeps finished shards and redoes only the missing ones.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from eqscale.backends import make_backend
from eqscale.data import format as fmt
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
from eqscale.errors import DatasetError, EqscaleError

CHUNK = 4  # trajectories per task sent to a worker: small for load balance, large vs overhead


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
    """Create (or resume) the dataset at ``out``; returns its path."""
    root = Path(out)
    counts = {"train": n_train, "val": n_val, "test": n_test}
    _check_args(counts, seed, workers, shard_size, backend)
    config = {"shapes": shapes, "faces_per_object": faces_per_object, "seed": seed,
              "n_train": n_train, "n_val": n_val, "n_test": n_test, "shard_size": shard_size}
    shape_set = cached_shape_set(shapes, faces_per_object)
    if (root / "manifest.json").exists():
        old = fmt.read_manifest(root, require_complete=False)
        if old.get("config") != config:
            raise DatasetError(f"{root} holds a dataset with another config {old.get('config')}; "
                               "choose a new --out or repeat the original arguments")
        manifest = old
        if manifest.get("status") == "complete":
            return root
    else:
        root.mkdir(parents=True, exist_ok=True)
        manifest = _manifest(config, shape_set, counts)
        fmt.write_json_atomic(root / "manifest.json", manifest)
    fmt.remove_partial(root)

    # Plan: every shard of every split; finished ones are kept.
    jobs, entries = [], {}
    for split, n in counts.items():
        for index, start in enumerate(range(0, n, shard_size)):
            entry = fmt.read_shard_entry(root / split, index, min(n, start + shard_size) - start)
            if entry is not None:
                entries[split, index] = entry
            else:
                seeds = [trajectory_seed(seed, split, i)
                         for i in range(start, min(n, start + shard_size))]
                jobs.append((split, index, seeds))
    tasks, owner = [], []
    for j, (_, _, seeds) in enumerate(jobs):
        for c in range(0, len(seeds), CHUNK):
            tasks.append(seeds[c:c + CHUNK])
            owner.append(j)

    from tqdm import tqdm

    total = sum(counts.values())
    bar = tqdm(total=total, initial=total - sum(len(s) for s in tasks), unit="traj",
               desc=f"generate {root.name}", disable=not progress, file=sys.stderr)
    # Outcomes arrive as tasks finish; a shard's rows are put back in task order, so the
    # files do not depend on the backend or the worker count.
    done: dict[int, dict[int, list]] = {}
    pending = {j: sum(1 for o in owner if o == j) for j in range(len(jobs))}
    items = [(shape_set.spec, shape_set.faces_per_object, seeds) for seeds in tasks]
    # Local pool workers get the parent's shape set (no rebuilding); a local Ray gets
    # ``workers`` CPUs and Ray's default object store (tasks return whole trajectories).
    with make_backend(backend, workers=workers, threads=1, ray_address=ray_address,
                      initializer=_init_worker, initargs=(shape_set,),
                      object_store_mb=None) as runner, _process_client(backend):
        for outcome in runner.map_unordered(_simulate_task, items):
            if not outcome.ok:
                raise RuntimeError(f"generation task {outcome.index} failed: {outcome.error}")
            j = owner[outcome.index]
            done.setdefault(j, {})[outcome.index] = outcome.value
            bar.update(len(outcome.value))
            pending[j] -= 1
            if pending[j] == 0:
                split, index, _ = jobs[j]
                chunks = done.pop(j)
                rows = [row for t in sorted(chunks) for row in chunks[t]]
                entries[split, index] = fmt.write_shard(root / split, index, rows)
    bar.close()

    for split in counts:
        manifest["splits"][split]["shards"] = [
            entries[key] for key in sorted(k for k in entries if k[0] == split)]
    manifest["status"] = "complete"
    fmt.write_json_atomic(root / "manifest.json", manifest)
    return root
