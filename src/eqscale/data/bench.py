"""``eqscale bench data``: generator throughput, its overhead over bare PyBullet, the 2-worker
speed-up and loader throughput, all measured in one run so the ratios share a machine state.

The bare loop steps the very same scenes (rebuilt from the generated dataset's first frame:
shapes, scales, masses, materials, poses, velocities) with the same engine settings, without
sampling, overlap checks, recording or writing; the ratio of the two times is the generator's
overhead. Speed-ups need an otherwise idle machine with at least 2 cores.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from eqscale.atomic import write_json_atomic
from eqscale.data.format import SplitArrays, read_manifest
from eqscale.data.generate import cached_shape_set, generate_dataset
from eqscale.data.simulate import (
    FRAMES,
    MATERIALS,
    STEPS_PER_FRAME,
    TIME_STEP,
    BulletClient,
    add_object,
    reset_world,
)


def initial_velocity(positions: np.ndarray, gravity: np.ndarray) -> np.ndarray:
    """The frame-0 velocities (K, 3), inverted from frames 0 and 1 of positions (K, F, 3).

    Over the first frame (n = 20 steps of h = 1/240 s) PyBullet's semi-implicit Euler gives
    x1 = x0 + n h v0 + h^2 g n (n + 1) / 2 for a body in free flight, which every body is
    unless it collides within 1/12 s.
    """
    n, h = STEPS_PER_FRAME, TIME_STEP
    drift = h * h * gravity.astype(np.float64) * n * (n + 1) / 2
    return (positions[:, 1].astype(np.float64) - positions[:, 0] - drift) / (n * h)


def bare_pybullet_seconds(root: Path, split: str = "train") -> float:
    """Seconds for a plain PyBullet loop to build and step every scene of ``split``."""
    manifest = read_manifest(root)
    cfg = manifest["config"]
    shapes = cached_shape_set(cfg["shapes"], cfg["faces_per_object"])
    arrays = SplitArrays(root, split, manifest)
    scenes = [arrays.trajectory(i) for i in range(len(arrays))]
    start = time.perf_counter()
    with BulletClient() as (pb, client):
        for s in scenes:
            reset_world(pb, client)
            velocity = initial_velocity(s["positions"], s["gravity"])
            for k in np.flatnonzero(s["mask"]):
                body = add_object(pb, client, shapes, int(s["shape_id"][k]), float(s["scale"][k]),
                                  float(s["mass"][k]), MATERIALS[int(s["material_id"][k])])
                w, x, y, z = s["quaternions"][k, 0].tolist()
                pb.resetBasePositionAndOrientation(body, s["positions"][k, 0].tolist(),
                                                   [x, y, z, w], physicsClientId=client)
                pb.resetBaseVelocity(body, velocity[k].tolist(), [0, 0, 0],
                                     physicsClientId=client)
            for _ in range((FRAMES - 1) * STEPS_PER_FRAME):
                pb.stepSimulation(physicsClientId=client)
    return time.perf_counter() - start


def _timed_generate(root: Path, n: int, workers: int) -> float:
    start = time.perf_counter()
    generate_dataset(root, n_train=n, n_val=0, n_test=0, seed=1, workers=workers,
                     faces_per_object=64, shard_size=32, progress=False)
    return time.perf_counter() - start


def _loader_rate(root: Path, n_samples: int, device: str | None) -> float:
    import torch

    from eqscale.data.dataset import SceneDataset, collate

    ds = SceneDataset(root, "train")
    loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, collate_fn=collate,
                                         generator=torch.Generator().manual_seed(0))
    seen, start = 0, time.perf_counter()
    while seen < n_samples:
        for batch in loader:
            if device is not None:
                batch = {k: v.to(device) for k, v in batch.items()}
            seen += batch["floor"].shape[0]
            if seen >= n_samples:
                break
    return seen / (time.perf_counter() - start)


def bench_data(out: str | Path | None = None, quick: bool = False,
               device: str | None = None) -> dict:
    """Run the data benchmark, print its figures and ratios, optionally write them as JSON."""
    n, repeats = (16, 1) if quick else (768, 2)
    cached_shape_set("procedural", 64)  # warm the V-HACD cache and this process's shape memo
    tmp = Path(tempfile.mkdtemp(prefix="eqscale-bench-"))
    try:
        # Interleaved repeats, best of each: load from other processes only slows a run down.
        t1 = t2 = t_bare = float("inf")
        for r in range(repeats):
            t1 = min(t1, _timed_generate(tmp / f"w1-{r}", n, workers=1))
            t_bare = min(t_bare, bare_pybullet_seconds(tmp / "w1-0"))
            t2 = min(t2, _timed_generate(tmp / f"w2-{r}", n, workers=2))
        loader = _loader_rate(tmp / "w1-0", 2000 if quick else 20000, device)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "trajectories": n,
        "generate_1_worker_traj_per_s": n / t1,
        "generate_2_workers_traj_per_s": n / t2,
        "bare_pybullet_traj_per_s": n / t_bare,
        "generator_overhead": t1 / t_bare - 1.0,
        "speedup_2_vs_1": t1 / t2,
        "loader_samples_per_s": loader,
    }
    if out is not None:
        write_json_atomic(out, result)
    return result


def format_data_bench(result: dict) -> str:
    """The benchmark's lines for the terminal."""
    return "\n".join([
        f"data benchmark ({result['trajectories']} trajectories):",
        f"  generate, 1 worker   {result['generate_1_worker_traj_per_s']:8.1f} traj/s",
        f"  generate, 2 workers  {result['generate_2_workers_traj_per_s']:8.1f} traj/s",
        f"  bare PyBullet loop   {result['bare_pybullet_traj_per_s']:8.1f} traj/s",
        f"  generator overhead   {100 * result['generator_overhead']:8.1f} %  (target <= 15 %)",
        f"  2-vs-1 speed-up      {result['speedup_2_vs_1']:8.2f} x  (target >= 1.7 x, idle "
        "machine)",
        f"  loader               {result['loader_samples_per_s']:8.0f} samples/s",
    ])
