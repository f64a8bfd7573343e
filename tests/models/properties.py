"""Checks every task model must pass, shared by the per-architecture test files."""

from __future__ import annotations

import torch
from torch import Tensor

from eqscale.models.rigidity import RigidMotion, apply_motion
from tests.models.synthetic import random_scene_batch


def predicted_verts(model: torch.nn.Module, batch: dict[str, Tensor]) -> Tensor:
    return apply_motion(model(batch), batch["verts_t"])


def assert_proper_rigid(motion: RigidMotion, atol: float) -> None:
    """Rotations are orthonormal with det +1 (so pairwise distances are kept)."""
    r = motion.rotation
    eye = torch.eye(3, dtype=r.dtype).expand_as(r)
    assert torch.allclose(r.transpose(-1, -2) @ r, eye, atol=atol)
    assert torch.allclose(torch.linalg.det(r), torch.ones_like(r[..., 0, 0]), atol=atol)


def assert_pairwise_distances_kept(model, batch, atol: float = 1e-5) -> None:
    """Every real object's predicted vertices keep their frame-t pairwise distances."""
    pred = predicted_verts(model, batch)
    before = torch.cdist(batch["verts_t"], batch["verts_t"])
    after = torch.cdist(pred, pred)
    m = batch["vert_mask"]
    pair = m[..., :, None] & m[..., None, :]
    assert pair.any()
    err = (before - after).abs()[pair]
    scale = before[pair].abs().max()
    assert err.max() <= atol * max(1.0, float(scale)), float(err.max())


def assert_object_permutation_equivariant(model, batch, seed: int = 0) -> None:
    """Permuting object slots permutes the predicted motions the same way."""
    k = batch["object_mask"].shape[1]
    perm = torch.randperm(k, generator=torch.Generator().manual_seed(seed))
    permuted = {key: (x[:, perm] if x.dim() >= 2 and key not in ("floor", "gravity") else x)
                for key, x in batch.items()}
    a, b = model(batch), model(permuted)
    real = permuted["object_mask"]
    assert torch.allclose(a.rotation[:, perm][real], b.rotation[real], atol=1e-5)
    assert torch.allclose(a.translation[:, perm][real], b.translation[real], atol=1e-4)


def assert_padding_ignored(model, batch, seed: int = 1) -> None:
    """New garbage in padded entries and extra padded object slots leave real outputs alone."""
    g = torch.Generator().manual_seed(seed)
    noisy = dict(batch)
    for key, mask in (("verts_prev", "vert_mask"), ("verts_t", "vert_mask"),
                      ("faces_prev", "face_mask"), ("faces_t", "face_mask")):
        x = batch[key]
        m = batch[mask].reshape(*batch[mask].shape, *([1] * (x.dim() - batch[mask].dim())))
        junk = 50 * torch.randn(x.shape, generator=g, dtype=x.dtype)
        noisy[key] = torch.where(m, x, junk)
    noisy["object_scalars"] = torch.where(batch["object_mask"][..., None],
                                          batch["object_scalars"], 7.0)
    extra = {}
    for key, x in noisy.items():
        if key in ("floor", "gravity"):
            extra[key] = x
            continue
        pad = torch.zeros((x.shape[0], 2, *x.shape[2:]), dtype=x.dtype)
        if x.is_floating_point():
            pad = pad + 3.0
        extra[key] = torch.cat([x, pad], dim=1)
    ref = model(batch)
    real = batch["object_mask"]
    for variant in (model(noisy), model(extra)):
        k = real.shape[1]
        assert torch.allclose(ref.rotation[real], variant.rotation[:, :k][real], atol=1e-5)
        assert torch.allclose(ref.translation[real], variant.translation[:, :k][real], atol=1e-4)


def small_batch(dtype=torch.float32, seed: int = 0, faces: int = 6) -> dict[str, Tensor]:
    return random_scene_batch(batch_size=3, objects=5, faces=faces, verts=7, seed=seed,
                              dtype=dtype)


def assert_rigid_under_bf16_autocast(model, batch) -> None:
    """Inside a bf16 autocast region the network runs in bf16 but the rigidity step does not:
    rotations stay orthonormal and predicted objects keep their shape to float32 precision."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        motion = model(batch)
        pred = apply_motion(motion, batch["verts_t"])
    assert motion.rotation.dtype == torch.float32 and pred.dtype == torch.float32
    assert_proper_rigid(motion, atol=1e-5)
    before = torch.cdist(batch["verts_t"], batch["verts_t"])
    after = torch.cdist(pred, pred)
    m = batch["vert_mask"]
    pair = m[..., :, None] & m[..., None, :]
    assert (before - after).abs()[pair].max() <= 1e-4


def assert_faceless_object_is_padding(model, batch) -> None:
    """A real object slot without a real face gets the identity; the others are unaffected."""
    k = int(batch["object_mask"][0].nonzero()[0])
    holed = dict(batch)
    holed["face_mask"] = batch["face_mask"].clone()
    holed["face_mask"][0, k] = False
    ref, got = model(batch), model(holed)
    assert torch.isfinite(got.rotation).all() and torch.isfinite(got.translation).all()
    assert torch.equal(got.rotation[0, k], torch.eye(3, dtype=got.rotation.dtype))
    # Other scenes are untouched (objects of scene 0 may change: they attended to those faces).
    assert torch.allclose(got.rotation[1:], ref.rotation[1:], atol=1e-6)
    assert torch.allclose(got.translation[1:], ref.translation[1:], atol=1e-6)


def assert_learns_a_batch(arch: str, steps: int = 30, factor: float = 0.7) -> None:
    """A few Adam steps on one synthetic batch cut the task loss below ``factor`` of its start,
    and the gradient reaches every parameter (finite)."""
    from eqscale.models import build_model
    from eqscale.models.loss import task_loss

    torch.manual_seed(2)
    model = build_model(arch, 0, faces_per_object=6)
    batch = random_scene_batch(4, 5, 6, 7, seed=8, dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = task_loss(predicted_verts(model, batch), batch)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert losses[-1] < factor * losses[0], losses


def assert_zero_head_is_rigid_constant_velocity(model, batch) -> None:
    """With its head zeroed a task model predicts every object's last rigid motion again (the
    shared prior): the same vertices as the rigid constant-velocity reference."""
    import copy

    from eqscale.models.reference import rigid_constant_velocity

    still = copy.deepcopy(model)
    with torch.no_grad():
        for p in still.head.parameters():
            p.zero_()
    pred = predicted_verts(still, batch)
    want = rigid_constant_velocity(batch)
    real = batch["vert_mask"] & batch["object_mask"][..., None]
    assert (pred - want)[real].abs().max() < 1e-9
