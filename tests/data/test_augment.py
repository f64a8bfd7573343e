"""E(3) augmentation: distances preserved, floor and gravity mapped consistently."""

from __future__ import annotations

import torch

from eqscale.data import SceneDataset, collate
from eqscale.data.augment import POINT_KEYS, apply_e3, random_e3, random_e3_elements


def _batch(root, n=6, seed=0):
    ds = SceneDataset(root, "train")
    idx = torch.randint(len(ds), (n,), generator=torch.Generator().manual_seed(seed))
    batch = collate([ds[int(i)] for i in idx])
    return {k: v.double() if v.is_floating_point() else v for k, v in batch.items()}


def _points(batch):
    return torch.cat([batch[k].reshape(batch[k].shape[0], -1, 3)
                      for k in POINT_KEYS if k in batch], dim=1)


def test_elements_are_orthogonal_with_half_reflections():
    g = torch.Generator().manual_seed(1)
    R, t = random_e3_elements(4000, g, dtype=torch.float64)
    eye = torch.eye(3, dtype=torch.float64).expand(4000, 3, 3)
    torch.testing.assert_close(R @ R.transpose(1, 2), eye, rtol=0, atol=1e-12)
    det = torch.linalg.det(R)
    assert torch.allclose(det.abs(), torch.ones_like(det))
    assert 0.45 < (det < 0).double().mean() < 0.55
    # Uniform rotations: E[R] = 0 (Haar measure), unlike a biased sampler.
    assert R.mean(0).abs().max() < 0.05
    assert t.std() > 0.5


def test_random_e3_preserves_distances_and_maps_floor_and_gravity(tiny_dataset):
    batch = _batch(tiny_dataset)
    out = random_e3(batch, torch.Generator().manual_seed(2))
    p0, p1 = _points(batch), _points(out)
    exact = "donot_use_mm_for_euclid_dist"
    d0 = torch.cdist(p0, p0, compute_mode=exact)
    d1 = torch.cdist(p1, p1, compute_mode=exact)
    assert ((d1 - d0).abs().max() / d0.max()) < 1e-9
    assert not torch.allclose(p0, p1)
    # Height above the floor and the component along gravity are invariant.
    h0 = p0 @ batch["floor"][:, :3, None] - batch["floor"][:, None, 3:]
    h1 = p1 @ out["floor"][:, :3, None] - out["floor"][:, None, 3:]
    torch.testing.assert_close(h0, h1, rtol=0, atol=1e-9)
    torch.testing.assert_close(out["gravity"].norm(dim=-1), batch["gravity"].norm(dim=-1))
    torch.testing.assert_close(out["floor"][:, :3].norm(dim=-1), torch.ones(6).double())
    cos0 = (batch["gravity"] * batch["floor"][:, :3]).sum(-1)
    cos1 = (out["gravity"] * out["floor"][:, :3]).sum(-1)
    torch.testing.assert_close(cos0, cos1)
    # Masks and indices untouched; faces still the gathered vertices.
    for key in ("vert_mask", "face_index", "face_mask", "object_mask", "object_scalars"):
        assert torch.equal(out[key], batch[key])
    from eqscale.data.tokens import faces_from_verts

    torch.testing.assert_close(out["faces_t"], faces_from_verts(out["verts_t"],
                                                                out["face_index"]))


def test_apply_e3_with_a_given_element_and_its_inverse(tiny_dataset):
    batch = _batch(tiny_dataset, n=3, seed=5)
    R, t = random_e3_elements(3, torch.Generator().manual_seed(9), dtype=torch.float64)
    moved = apply_e3(batch, R, t)
    expected = torch.einsum("bij,bkvj->bkvi", R, batch["verts_next"]) + t[:, None, None]
    torch.testing.assert_close(moved["verts_next"], expected)
    back = apply_e3(moved, R.transpose(1, 2), -torch.einsum("bji,bj->bi", R, t))
    for key in (*POINT_KEYS[:5], "floor", "gravity"):
        torch.testing.assert_close(back[key], batch[key], rtol=0, atol=1e-12)


def test_float32_batches_stay_float32(tiny_dataset):
    ds = SceneDataset(tiny_dataset, "val")
    batch = collate([ds[0], ds[1]])
    out = random_e3(batch, torch.Generator().manual_seed(0))
    assert out["verts_t"].dtype == torch.float32 and out["floor"].dtype == torch.float32
    exact = "donot_use_mm_for_euclid_dist"
    p0, p1 = batch["verts_t"].flatten(1, 2), out["verts_t"].flatten(1, 2)
    d0 = torch.cdist(p0, p0, compute_mode=exact)
    d1 = torch.cdist(p1, p1, compute_mode=exact)
    assert ((d1 - d0).abs().max() / d0.max()) < 1e-4
