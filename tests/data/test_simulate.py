"""The simulator against docs/data.md (Scenes): ranges, placement, free fall, floor, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from eqscale.data.generate import cached_shape_set
from eqscale.data.inspect import SINK_TOLERANCE
from eqscale.data.simulate import (
    FRAME_RATE,
    MATERIALS,
    SCALE_RANGE,
    SPAWN_HIGH,
    SPAWN_LOW,
    BulletClient,
    add_object,
    place_scene,
    quaternion_to_matrix,
    record,
    reset_world,
    simulate_trajectory,
)
from tests.data.helpers import lowest_collision_height


@pytest.fixture(scope="module")
def shapes():
    return cached_shape_set("procedural", 8)


@pytest.fixture(scope="module")
def bullet():
    with BulletClient() as client:
        yield client


def test_sampled_scenes_lie_in_the_documented_ranges(shapes, bullet):
    pb, c = bullet
    counts, materials, shape_ids = [], [], []
    for seed in range(40):
        scene = place_scene(pb, c, shapes, np.random.default_rng(1000 + seed))
        if scene is None:
            continue
        n = len(scene["bodies"])
        counts.append(n)
        materials += scene["material_id"].tolist()
        shape_ids += scene["shape_id"].tolist()
        assert 3 <= n <= 10
        assert np.all((scene["scale"] >= SCALE_RANGE[0]) & (scene["scale"] <= SCALE_RANGE[1]))
        volume = np.array([shapes.shapes[s].volume for s in scene["shape_id"]])
        density = np.array([MATERIALS[m].density for m in scene["material_id"]])
        np.testing.assert_allclose(scene["mass"], volume * density * scene["scale"] ** 3)
        for i, body in enumerate(scene["bodies"]):
            # PyBullet got the same mass and friction (it does not report restitution for
            # maximal-coordinate bodies; test_rubber_bounces_higher_than_metal checks it).
            info = pb.getDynamicsInfo(body, -1, physicsClientId=c)
            assert info[0] == pytest.approx(scene["mass"][i])
            assert info[1] == pytest.approx(MATERIALS[scene["material_id"][i]].friction)
            # The rotated, scaled object lies inside the spawn box.
            local = shapes.shapes[scene["shape_id"][i]].collision_vertices * scene["scale"][i]
            world = local @ quaternion_to_matrix(scene["quaternion"][i]).T + scene["position"][i]
            assert np.all(world.min(0) >= SPAWN_LOW - 1e-9)
            assert np.all(world.max(0) <= SPAWN_HIGH + 1e-9)
            # Centre-biased velocity: v + (x, y, 0) ~ U((-4, -4, 0), (4, 4, 0)); no spin.
            biased = scene["velocity"][i] + [*scene["position"][i][:2], 0.0]
            assert np.all(np.abs(biased[:2]) <= 4.0) and biased[2] == 0.0
            assert np.allclose(pb.getBaseVelocity(body, physicsClientId=c)[1], 0.0)
        # No two objects overlap at the start.
        for a in scene["bodies"]:
            for b in scene["bodies"]:
                if a < b:
                    assert not pb.getClosestPoints(a, b, 0.0, physicsClientId=c)
    assert len(counts) >= 35
    assert 0.3 < np.mean(materials) < 0.7  # 50/50 metal/rubber
    assert len(set(shape_ids)) == 11


def test_free_fall_accelerates_at_minus_ten(shapes, bullet):
    """A lone object thrown from 30 m (it falls 20 m in the 2 s of a trajectory, so it never
    touches the floor): vertical acceleration -10 within 1%, no horizontal acceleration."""
    pb, c = bullet
    rng = np.random.default_rng(7)
    for shape_id in range(len(shapes.shapes)):
        reset_world(pb, c)
        body = add_object(pb, c, shapes, shape_id, 1.0, 1.0, MATERIALS[shape_id % 2])
        q = rng.standard_normal(4)
        q /= np.linalg.norm(q)
        pb.resetBasePositionAndOrientation(body, [0.0, 0.0, 30.0], [*q[1:], q[0]],
                                           physicsClientId=c)
        velocity = rng.uniform([-4, -4, 0], [4, 4, 4]).tolist()
        pb.resetBaseVelocity(body, velocity, [0, 0, 0], physicsClientId=c)
        pos, quat = record(pb, c, [body])
        traj = {"mask": np.array([True]), "shape_id": np.array([shape_id]),
                "scale": np.array([1.0]), "positions": pos, "quaternions": quat,
                "floor": np.array([0.0, 0.0, 1.0, 0.0])}
        assert lowest_collision_height(shapes, traj).min() > 0.5  # no contact
        acc = np.diff(pos[0], n=2, axis=0) * FRAME_RATE**2
        np.testing.assert_allclose(acc[:, 2], -10.0, rtol=0.01)
        np.testing.assert_allclose(acc[:, :2], 0.0, atol=0.1)


def test_rubber_bounces_higher_than_metal(shapes, bullet):
    """Restitution reaches the engine: a dropped rubber sphere rebounds higher than metal."""
    pb, c = bullet
    rebound = []
    for material in MATERIALS:
        reset_world(pb, c)
        body = add_object(pb, c, shapes, 2, 1.0, 1.0, material)
        pb.resetBasePositionAndOrientation(body, [0, 0, 3], [0, 0, 0, 1], physicsClientId=c)
        z = record(pb, c, [body])[0][0, :, 2]
        first_low = int(np.argmax(np.diff(z) > 0))  # first frame after which it rises
        rebound.append(z[first_low:].max() - 0.5)
    assert rebound[1] > 2 * rebound[0] > 0


def test_nothing_sinks_through_the_floor(shapes, bullet):
    pb, c = bullet
    for seed in range(6):
        traj = simulate_trajectory(pb, c, shapes, 500 + seed)
        heights = lowest_collision_height(shapes, traj)
        assert heights[traj["mask"]].min() > -SINK_TOLERANCE  # transient, during impacts
        assert heights[traj["mask"], -1].min() > -0.01  # at rest
        # Objects come to the floor: by the last frame most rest near it.
        assert np.median(heights[traj["mask"], -1]) < 0.5


def test_same_seed_same_trajectory_in_a_fresh_client(shapes, bullet):
    pb, c = bullet
    first = simulate_trajectory(pb, c, shapes, 123)
    simulate_trajectory(pb, c, shapes, 124)  # the client has been used since
    with BulletClient() as (pb2, c2):
        again = simulate_trajectory(pb2, c2, shapes, 123)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    other = simulate_trajectory(pb, c, shapes, 125)
    assert not np.array_equal(first["positions"], other["positions"])


def test_padding_slots(shapes, bullet):
    pb, c = bullet
    traj = simulate_trajectory(pb, c, shapes, 9)
    n = int(traj["mask"].sum())
    assert traj["mask"][:n].all() and not traj["mask"][n:].any()
    assert np.all(traj["positions"][n:] == 0) and np.all(traj["mass"][n:] == 0)
    np.testing.assert_allclose(np.linalg.norm(traj["quaternions"][:n], axis=-1), 1.0, atol=1e-6)
