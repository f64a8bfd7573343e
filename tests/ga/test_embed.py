"""Embeddings and the group action: round trips and agreement with Euclidean geometry."""

from __future__ import annotations

import pytest
import torch

from eqscale import ga

F64 = torch.float64


@pytest.fixture()
def gen():
    return torch.Generator().manual_seed(5)


def random_quaternion(gen, n):
    q = torch.randn(n, 4, generator=gen, dtype=F64)
    return q / q.norm(dim=-1, keepdim=True)


def rotation_matrix(q):
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def test_point_embedding_round_trip_and_layout(gen):
    p = torch.randn(10, 3, generator=gen, dtype=F64)
    mv = ga.embed_point(p)
    torch.testing.assert_close(ga.extract_point(mv), p)
    torch.testing.assert_close(ga.extract_point(-3.0 * mv), p)  # homogeneous: any scale
    assert mv[0, 14] == 1 and mv[0, 13] == -p[0, 0] and mv[0, 12] == p[0, 1]
    assert mv[0, 11] == -p[0, 2]
    assert (mv[:, :11] == 0).all() and (mv[:, 15] == 0).all()


def test_plane_embedding_sign_and_incidence(gen):
    n = torch.randn(6, 3, generator=gen, dtype=F64)
    n = n / n.norm(dim=-1, keepdim=True)
    d = torch.randn(6, generator=gen, dtype=F64)
    plane = ga.embed_plane(n, d)
    torch.testing.assert_close(plane[:, 1], -d)
    torch.testing.assert_close(plane[:, 2:5], n)
    # a point on the plane is fixed by the reflection in it; one off it is mirrored
    on = torch.randn(6, 3, generator=gen, dtype=F64)
    on = on - ((on * n).sum(-1, keepdim=True) - d[:, None]) * n
    refl = ga.embed_reflection(n, d)
    torch.testing.assert_close(ga.extract_point(ga.sandwich(refl, ga.embed_point(on))), on)


def test_rotation_acts_as_rotation_matrix(gen):
    q = random_quaternion(gen, 8)
    p = torch.randn(8, 3, generator=gen, dtype=F64)
    got = ga.extract_point(ga.sandwich(ga.embed_rotation(q), ga.embed_point(p)))
    expected = (rotation_matrix(q) @ p.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(got, expected)


def test_translation_acts_as_translation(gen):
    t = torch.randn(8, 3, generator=gen, dtype=F64)
    p = torch.randn(8, 3, generator=gen, dtype=F64)
    got = ga.extract_point(ga.sandwich(ga.embed_translation(t), ga.embed_point(p)))
    torch.testing.assert_close(got, p + t)


def test_reflection_acts_as_mirror_and_flips_homogeneous_coordinate(gen):
    n = torch.randn(8, 3, generator=gen, dtype=F64) * 3.0  # unnormalised on purpose
    d = torch.randn(8, generator=gen, dtype=F64)
    p = torch.randn(8, 3, generator=gen, dtype=F64)
    moved = ga.sandwich(ga.embed_reflection(n, d), ga.embed_point(p))
    unit = n / n.norm(dim=-1, keepdim=True)
    dist = (p * unit).sum(-1, keepdim=True) - (d / n.norm(dim=-1))[:, None]
    torch.testing.assert_close(ga.extract_point(moved), p - 2 * dist * unit)
    torch.testing.assert_close(moved[:, 14], -torch.ones(8, dtype=F64))


def test_composition_of_versors_is_composition_of_maps(gen):
    q = random_quaternion(gen, 4)
    t = torch.randn(4, 3, generator=gen, dtype=F64)
    p = torch.randn(4, 3, generator=gen, dtype=F64)
    motor = ga.geometric_product(ga.embed_translation(t), ga.embed_rotation(q))
    got = ga.extract_point(ga.sandwich(motor, ga.embed_point(p)))
    expected = (rotation_matrix(q) @ p.unsqueeze(-1)).squeeze(-1) + t
    torch.testing.assert_close(got, expected)


def test_sandwich_preserves_planes_as_planes(gen):
    """Moving a plane by a motor equals the plane through the moved points."""
    q, t = random_quaternion(gen, 1)[0], torch.randn(3, generator=gen, dtype=F64)
    motor = ga.geometric_product(ga.embed_translation(t), ga.embed_rotation(q))
    n = torch.tensor([0.0, 0.0, 1.0], dtype=F64)
    moved = ga.sandwich(motor, ga.embed_plane(n, torch.tensor(2.0, dtype=F64)))
    n2 = rotation_matrix(q) @ n
    torch.testing.assert_close(moved, ga.embed_plane(n2, 2.0 + n2 @ t))


def test_versor_inverse_and_parity(gen):
    from eqscale.ga.testing import random_pin_element

    for k in (1, 2, 3, 4):
        u = random_pin_element(gen, F64, num_reflections=k)
        assert bool(ga.versor_parity(u)) == (k % 2 == 1)
        one = torch.zeros(16, dtype=F64)
        one[0] = 1
        torch.testing.assert_close(ga.geometric_product(u, ga.inverse_versor(u)), one)


def test_embeddings_reject_wrong_shapes():
    with pytest.raises(ValueError, match="last dimension 3"):
        ga.embed_point(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="last dimension 4"):
        ga.embed_rotation(torch.zeros(3))


def test_reflected_plane_is_the_mirror_plane_without_extra_sign(gen):
    m = torch.randn(3, generator=gen, dtype=F64)
    m = m / m.norm()
    e = torch.randn((), generator=gen, dtype=F64)
    n = torch.randn(3, generator=gen, dtype=F64)
    n = n / n.norm()
    d = torch.randn((), generator=gen, dtype=F64)
    moved = ga.sandwich(ga.embed_reflection(m, e), ga.embed_plane(n, d))
    n2 = n - 2 * (n @ m) * m  # the normal as a direction
    on = d * n  # a point of the plane, mirrored
    on2 = on - 2 * (on @ m - e) * m
    torch.testing.assert_close(moved, ga.embed_plane(n2, n2 @ on2))
