"""Shape sets: unit size, centred on the centre of mass, cached decomposition, token budgets,
and Kubric's real KuBasic assets (read from ../shared, never copied)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eqscale.data.generate import cached_shape_set, generate_dataset
from eqscale.data.meshes import PROCEDURAL_SHAPES, procedural_mesh
from eqscale.data.shapes import decimate, load_shape_set, read_obj_vertices
from eqscale.data.simulate import BulletClient, simulate_trajectory
from eqscale.errors import EqscaleError
from tests.data.helpers import lowest_collision_height


@pytest.mark.parametrize("name", PROCEDURAL_SHAPES)
def test_procedural_shape_is_a_unit_volume_centred_on_its_centre_of_mass(name):
    mesh = procedural_mesh(name)
    assert mesh.is_watertight and mesh.volume > 0.05
    assert np.max(mesh.extents) == pytest.approx(1.0)
    np.testing.assert_allclose(mesh.center_mass, 0.0, atol=1e-9)


def test_non_convex_shapes_decompose_into_several_parts_and_are_cached():
    shapes = cached_shape_set("procedural", 8)
    parts = {s.name: open(s.collision_file).read().count("\no ") + 1 for s in shapes.shapes}
    assert parts["cube"] == parts["sphere"] == 1
    for holed in ("torus", "torus_knot", "sponge", "gear", "spot"):
        assert parts[holed] >= 4, (holed, parts[holed])
    for non_convex in ("teapot", "suzanne"):
        assert parts[non_convex] >= 2, (non_convex, parts[non_convex])
    again = load_shape_set("procedural", 16)
    assert [s.collision_file for s in again.shapes] == [s.collision_file for s in shapes.shapes]
    for shape in shapes.shapes:  # the decomposition stays close to the shape's own size
        v = read_obj_vertices(shape.collision_file)
        assert 0.9 < np.ptp(v, axis=0).max() < 1.1


@pytest.mark.parametrize("budget", [4, 8, 64])
def test_token_meshes_respect_the_face_budget(budget):
    shapes = load_shape_set("procedural", budget)
    for shape in shapes.shapes:
        assert 1 <= len(shape.token_faces) <= budget
        assert shape.token_faces.max() < len(shape.token_vertices)
        assert len(np.unique(shape.token_faces)) == len(shape.token_vertices)  # no unused
        assert np.ptp(shape.token_vertices, axis=0).max() > 0.5  # still spans the shape


def test_decimate_keeps_small_meshes_and_shrinks_big_ones():
    mesh = procedural_mesh("sphere")
    v, f = decimate(mesh.vertices, mesh.faces, 5000)
    assert len(f) == len(mesh.faces)
    v, f = decimate(mesh.vertices, mesh.faces, 50)
    assert len(f) <= 50
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 0.5, atol=0.08)


def test_unknown_shape_sets_are_user_errors(tmp_path):
    with pytest.raises(EqscaleError, match="unknown shape set"):
        load_shape_set("lego", 8)
    with pytest.raises(EqscaleError, match="not found"):
        load_shape_set(f"kubasic:{tmp_path / 'absent'}", 8)
    (tmp_path / "cube").mkdir()
    with pytest.raises(EqscaleError, match="missing"):
        load_shape_set(f"kubasic:{tmp_path}", 8)


def test_kubasic_set_loads_and_simulates(shared_dir, tmp_path):
    spec = f"kubasic:{shared_dir / 'kubasic'}"
    shapes = load_shape_set(spec, 16)
    assert shapes.names == list(PROCEDURAL_SHAPES)
    cube = shapes.shapes[shapes.names.index("cube")]
    assert cube.volume == pytest.approx(0.9936)
    here = shared_dir.resolve()  # read in place (../shared may be a link)
    assert all(Path(s.collision_file).resolve().is_relative_to(here) for s in shapes.shapes)
    with BulletClient() as (pb, c):
        traj = simulate_trajectory(pb, c, shapes, 11)
    assert 3 <= traj["mask"].sum() <= 10
    assert lowest_collision_height(shapes, traj)[traj["mask"]].min() > -0.05
    root = generate_dataset(tmp_path / "kb", n_train=2, n_val=1, n_test=1, seed=0, shapes=spec,
                            faces_per_object=16, progress=False)
    from eqscale.data.inspect import inspect_dataset

    assert "valid" in inspect_dataset(root)
    assert not list(root.rglob("*.obj"))  # assets are referenced, never copied


def test_collision_geometry_keeps_the_holes():
    """A ray down the axis of the torus and the sponge's central tunnel passes through; one
    through the material hits."""
    shapes = cached_shape_set("procedural", 8)
    from eqscale.data.simulate import MATERIALS, add_object, reset_world

    with BulletClient() as (pb, c):
        for name, solid_x in (("torus", 0.35), ("sponge", 0.3)):
            reset_world(pb, c)
            body = add_object(pb, c, shapes, shapes.names.index(name), 1.0, 1.0, MATERIALS[0])
            pb.resetBasePositionAndOrientation(body, [0, 0, 3], [0, 0, 0, 1], physicsClientId=c)
            hit = [pb.rayTest([x, 0, 5], [x, 0, 2.1], physicsClientId=c)[0][0] == body
                   for x in (0.0, 0.05, solid_x)]
            assert hit == [False, False, True], name
