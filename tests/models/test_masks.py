"""Hierarchical attention masks: the object view equals the dense object mask; padding is out."""

import torch
import torch.nn.functional as F

from eqscale.models.masks import (
    block_levels,
    dense_object_mask,
    global_attention_mask,
    object_attention_mask,
    to_object_view,
    to_scene_view,
)


def _face_mask(seed=0, b=2, k=4, p=5):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(b, k, p, generator=g) < 0.7
    mask[:, 0, 0] = True
    mask[0, 2] = False  # a fully padded object
    return mask


def test_object_view_attention_equals_dense_object_mask():
    fm = _face_mask()
    b, k, p = fm.shape
    g = torch.Generator().manual_seed(1)
    q, kk, v = (torch.randn(b, 2, k * p, 8, generator=g, dtype=torch.float64) for _ in range(3))
    dense = F.scaled_dot_product_attention(q, kk, v, attn_mask=dense_object_mask(fm)[:, None])

    def view(x):  # (B, H, T, D) -> (B*K, H, P, D)
        return to_object_view(x.transpose(1, 2), k).transpose(1, 2)

    obj = F.scaled_dot_product_attention(view(q), view(kk), view(v),
                                         attn_mask=object_attention_mask(fm)[:, None])
    obj = to_scene_view(obj.transpose(1, 2), k).transpose(1, 2)
    real = fm.reshape(b, k * p)
    assert torch.allclose(dense.transpose(1, 2)[real], obj.transpose(1, 2)[real], atol=1e-12)


def test_padding_never_attends_nor_is_attended():
    fm = _face_mask(2)
    b, k, p = fm.shape
    real = fm.reshape(b, k * p)
    for mask in (global_attention_mask(fm), dense_object_mask(fm)):
        off_diag = mask & ~torch.eye(k * p, dtype=torch.bool)
        assert not off_diag[~real[:, :, None].expand_as(mask)].any()  # padded queries: self only
        assert not off_diag[~real[:, None, :].expand_as(mask)].any()  # padded keys: never
        assert mask.any(dim=-1).all()  # no empty rows (softmax stays finite)
    glob = global_attention_mask(fm)
    assert glob[real[:, :, None] & real[:, None, :]].all()  # real tokens see every real token


def test_object_mask_keeps_objects_apart():
    fm = torch.ones(1, 3, 2, dtype=torch.bool)
    expected = torch.block_diag(*(torch.ones(2, 2),) * 3).bool()
    assert torch.equal(dense_object_mask(fm)[0], expected)


def test_views_round_trip_and_levels_alternate():
    x = torch.randn(2, 12, 3)
    assert torch.equal(to_scene_view(to_object_view(x, 4), 4), x)
    assert to_object_view(x, 4).shape == (8, 3, 3)
    assert block_levels(5) == ("object", "global", "object", "global", "object")
