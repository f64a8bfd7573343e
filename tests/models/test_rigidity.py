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


def test_last_rotation_recovers_rigid_rotations_and_commutes_with_e3():
    """Kabsch on a rigid object's vertices at t-1 and t gives its rotation exactly; a moved or
    reflected scene gives Q R Q^T; padding and objects under three vertices get the identity."""
    from eqscale.models.rigidity import last_rotation
    from tests.models.synthetic import random_e3, random_scene_batch

    batch = random_scene_batch(3, 5, 6, 7, seed=12)
    mask = batch["vert_mask"]
    rot = last_rotation(batch["verts_prev"], batch["verts_t"], mask)
    real = batch["object_mask"]
    c_prev = object_centroids(batch["verts_prev"], mask)
    c_now = object_centroids(batch["verts_t"], mask)
    moved = torch.einsum("bkij,bkvj->bkvi", rot, batch["verts_prev"] - c_prev[:, :, None])
    err = (moved + c_now[:, :, None] - batch["verts_t"]).norm(dim=-1)[mask]
    assert err.max() < 1e-10
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.equal(rot[~real], eye.expand_as(rot[~real]))
    assert torch.allclose(torch.linalg.det(rot[real]), torch.ones(int(real.sum()),
                                                                 dtype=torch.float64))
    for reflect in (False, True):
        q, b = random_e3(3, seed=13, reflect=reflect)
        pts = [torch.einsum("bij,bkvj->bkvi", q, batch[k]) + b[:, None, None]
               for k in ("verts_prev", "verts_t")]
        got = last_rotation(*pts, mask)
        want = q[:, None] @ rot @ q[:, None].transpose(-1, -2)
        assert torch.allclose(got[real], want[real], atol=1e-10)


def test_rigid_constant_velocity_is_exact_for_steady_spin_and_drift():
    """An object spinning steadily about its centroid while the centroid drifts uniformly is
    predicted exactly by the rigid reference (and not by the per-vertex one)."""
    from eqscale.models.loss import task_loss
    from eqscale.models.reference import constant_velocity, rigid_constant_velocity
    from tests.models.synthetic import random_scene_batch, random_small_rotation

    g = torch.Generator().manual_seed(14)
    batch = random_scene_batch(2, 4, 6, 7, seed=15)
    mask = batch["vert_mask"]
    turn = random_small_rotation(8, g, 0.4).reshape(2, 4, 3, 3)
    drift = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    c = object_centroids(batch["verts_t"], mask)[:, :, None]
    rel = batch["verts_t"] - c
    back = torch.einsum("bkji,bkvj->bkvi", turn, rel)  # turn^T rel
    ahead = torch.einsum("bkij,bkvj->bkvi", turn, rel)
    steady = {**batch, "verts_prev": back + c - drift[:, :, None],
              "verts_next": ahead + c + drift[:, :, None]}
    assert task_loss(rigid_constant_velocity(steady), steady) < 1e-20
    assert task_loss(constant_velocity(steady), steady) > 1e-3
