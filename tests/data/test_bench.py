"""The data benchmark: its bare-PyBullet reference rebuilds the same scenes, and it runs."""

from __future__ import annotations

import json

import numpy as np

from eqscale.data.bench import bench_data, format_data_bench, initial_velocity
from eqscale.data.generate import cached_shape_set
from eqscale.data.simulate import GRAVITY, BulletClient, place_scene, record


def test_initial_velocity_is_recovered_from_the_first_two_frames():
    shapes = cached_shape_set("procedural", 8)
    with BulletClient() as (pb, c):
        scene = place_scene(pb, c, shapes, np.random.default_rng(4))
        positions, _ = record(pb, c, scene["bodies"])
    recovered = initial_velocity(positions, np.asarray(GRAVITY))
    # Bodies that collide within the first 1/12 s differ; the others match to float precision.
    close = np.all(np.abs(recovered - scene["velocity"]) < 1e-6, axis=1)
    assert close.mean() >= 0.6


def test_quick_benchmark_reports_every_figure(tmp_path, capsys):
    result = bench_data(out=tmp_path / "data.json", quick=True)
    assert json.loads((tmp_path / "data.json").read_text()) == result
    for key in ("generate_1_worker_traj_per_s", "generate_2_workers_traj_per_s",
                "bare_pybullet_traj_per_s", "loader_samples_per_s", "speedup_2_vs_1"):
        assert result[key] > 0
    assert result["generator_overhead"] > -0.5  # the generator cannot be much faster than bare
    out = format_data_bench(result)
    assert "generator overhead" in out and "speed-up" in out and "samples/s" in out
