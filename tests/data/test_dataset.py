"""The torch side: batch format of docs/interfaces.md, poses -> vertices, whole trajectories."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eqscale.data import SceneDataset, collate, faces_from_verts, load_trajectories
from eqscale.data.format import SplitArrays
from eqscale.errors import DatasetError


def test_batch_keys_shapes_and_dtypes(tiny_dataset):
    ds = SceneDataset(tiny_dataset, "train")
    assert len(ds) == 8 * 23
    batch = collate([ds[0], ds[40], ds[len(ds) - 1]])
    B, K, P = 3, 10, ds.faces_per_object
    V = batch["verts_t"].shape[2]
    expected = {
        "verts_prev": (B, K, V, 3), "verts_t": (B, K, V, 3), "verts_next": (B, K, V, 3),
        "vert_mask": (B, K, V), "face_index": (B, K, P, 3), "faces_prev": (B, K, P, 3, 3),
        "faces_t": (B, K, P, 3, 3), "face_mask": (B, K, P), "object_mask": (B, K),
        "object_scalars": (B, K, 4), "floor": (B, 4), "gravity": (B, 3),
    }
    assert set(batch) == set(expected)
    for key, shape in expected.items():
        assert tuple(batch[key].shape) == shape, key
    for key in ("vert_mask", "face_mask", "object_mask"):
        assert batch[key].dtype == torch.bool
    assert batch["face_index"].dtype == torch.long
    assert batch["verts_t"].dtype == torch.float32
    # Real faces index real vertices; padded objects have no real faces or vertices.
    gathered = torch.gather(batch["vert_mask"], 2, batch["face_index"].flatten(2)).view_as(
        batch["face_index"])
    assert gathered[batch["face_mask"]].all()
    assert not batch["face_mask"][~batch["object_mask"]].any()
    assert not batch["vert_mask"][~batch["object_mask"]].any()


def test_vertices_move_rigidly_with_the_recorded_pose(tiny_dataset):
    """verts = x + R(q) s v: centred on the centre of mass up to the mesh's own centroid, and
    pairwise distances within an object are the same at t-1, t, t+1."""
    ds = SceneDataset(tiny_dataset, "val")
    sample = ds[int(torch.randint(len(ds), (1,), generator=torch.Generator().manual_seed(3)))]
    for k in torch.nonzero(sample["object_mask"]).flatten():
        m = sample["vert_mask"][k]
        d = [torch.cdist(sample[key][k][m].double(), sample[key][k][m].double())
             for key in ("verts_prev", "verts_t", "verts_next")]
        assert torch.allclose(d[0], d[1], atol=1e-4) and torch.allclose(d[1], d[2], atol=1e-4)
    assert torch.equal(sample["faces_t"], faces_from_verts(sample["verts_t"],
                                                           sample["face_index"]))


def test_load_trajectories_matches_samples(tiny_dataset):
    traj = load_trajectories(tiny_dataset, "test", [2, 0])
    assert traj["verts"].shape[:3] == (2, 25, 10)
    ds = SceneDataset(tiny_dataset, "test")
    for t in (1, 12, 23):
        sample = ds[2 * 23 + t - 1]  # trajectory 2, frame t
        assert torch.equal(sample["verts_t"], traj["verts"][0, t])
        assert torch.equal(sample["verts_next"], traj["verts"][0, t + 1])
        for key in ("vert_mask", "face_index", "object_scalars", "floor", "gravity"):
            assert torch.equal(sample[key], traj[key][0])


def test_subset_takes_the_first_trajectories(tiny_dataset):
    full, sub = SceneDataset(tiny_dataset, "train"), SceneDataset(tiny_dataset, "train", subset=3)
    assert len(sub) == 3 * 23
    assert torch.equal(sub[len(sub) - 1]["verts_t"], full[len(sub) - 1]["verts_t"])
    with pytest.raises(DatasetError):
        SceneDataset(tiny_dataset, "train", subset=99)


def test_object_scalars_are_the_stored_arrays(tiny_dataset):
    arrays = SplitArrays(tiny_dataset, "train")
    ds = SceneDataset(tiny_dataset, "train")
    scalars = ds[23 * 5]["object_scalars"].numpy()
    traj = arrays.trajectory(5)
    np.testing.assert_array_equal(
        scalars, np.stack([traj["mass"], traj["friction"], traj["restitution"],
                           traj["scale"]], -1))
