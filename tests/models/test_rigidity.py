"""Rigidity helpers: 6-D projection onto SO(3), masked averages, centroid motions."""

import torch

from eqscale.models.rigidity import (
    RigidMotion,
    apply_motion,
    identity_for_padding,
    masked_mean,
    motion_about_centroid,
    object_centroids,
    rotation_from_6d,
)
from tests.models.synthetic import random_rotation


def test_rotation_from_6d_is_proper_and_fixes_rotations():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 6, generator=g, dtype=torch.float64)
    r = rotation_from_6d(a)
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(r.transpose(-1, -2) @ r, eye.expand(50, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(r), torch.ones(50, dtype=torch.float64))
    rot = random_rotation(20, g)
    six = torch.cat([rot[..., 0], rot[..., 1]], dim=-1)
    assert torch.allclose(rotation_from_6d(six), rot, atol=1e-12)  # a projection


def test_rotation_from_6d_gradient_is_finite_at_the_identity():
    a = torch.tensor([1.0, 0, 0, 0, 1, 0], requires_grad=True)
    rotation_from_6d(a).sum().backward()
    assert torch.isfinite(a.grad).all()


def test_apply_motion_and_centroid_motion():
    g = torch.Generator().manual_seed(1)
    rot = random_rotation(6, g).reshape(2, 3, 3, 3)
    pts = torch.randn(2, 3, 5, 3, generator=g, dtype=torch.float64)
    c = pts.mean(dim=2)
    d = torch.randn(2, 3, 3, generator=g, dtype=torch.float64)
    moved = apply_motion(motion_about_centroid(rot, c, d), pts)
    expected = torch.einsum("bkij,bkvj->bkvi", rot, pts - c[:, :, None]) + (c + d)[:, :, None]
    assert torch.allclose(moved, expected, atol=1e-12)
    assert torch.allclose(moved.mean(dim=2), c + d, atol=1e-12)  # the centroid moves by d


def test_masked_mean_ignores_padding_even_if_not_finite():
    x = torch.tensor([[[1.0, 3.0, float("nan")], [float("inf"), 0.0, 0.0]]])
    mask = torch.tensor([[[True, True, False], [False, False, False]]])
    out = masked_mean(x, mask)
    assert torch.equal(out, torch.tensor([[2.0, 0.0]]))
    verts = torch.randn(1, 2, 3, 3)
    assert torch.allclose(object_centroids(verts, mask)[0, 0], verts[0, 0, :2].mean(0))


def test_identity_for_padding():
    rot = torch.full((1, 2, 3, 3), float("nan"))
    motion = identity_for_padding(RigidMotion(rot, torch.ones(1, 2, 3)),
                                  torch.tensor([[False, False]]))
    assert torch.equal(motion.rotation, torch.eye(3).expand(1, 2, 3, 3))
    assert torch.equal(motion.translation, torch.zeros(1, 2, 3))
