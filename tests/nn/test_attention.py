"""Geometric attention: equivariance with masks, masked keys have no influence, distances."""

from __future__ import annotations

import pytest
import torch

from eqscale import ga
from eqscale.ga.testing import assert_equivariant
from eqscale.nn import GeometricAttention, distance_features

F64 = torch.float64


@pytest.fixture()
def gen():
    return torch.Generator().manual_seed(9)


def random_mask(gen, b, t):
    mask = torch.rand(b, t, t, generator=gen) > 0.4
    return mask | torch.eye(t, dtype=torch.bool)


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-9), (torch.float32, 1e-4)])
def test_attention_is_equivariant_with_mask(gen, dtype, rtol):
    attn = GeometricAttention(4, 6, num_heads=2).to(dtype)
    mv = torch.randn(2, 7, 4, 16, generator=gen, dtype=dtype)
    s = torch.randn(2, 7, 6, generator=gen, dtype=dtype)
    mask = random_mask(gen, 2, 7)
    assert_equivariant(lambda m: attn(m, s, mask), [mv], outputs=("mv", "inv"), rtol=rtol,
                       generator=gen)


def test_masked_key_has_no_influence(gen):
    attn = GeometricAttention(3, 4, num_heads=2).double()
    mv = torch.randn(2, 6, 3, 16, generator=gen, dtype=F64)
    s = torch.randn(2, 6, 4, generator=gen, dtype=F64)
    mask = random_mask(gen, 2, 6)
    mask[:, :3, 5] = False  # queries 0..2 may not see key 5
    mask[:, 3:, 5] = True
    before = attn(mv, s, mask)
    mv2, s2 = mv.clone(), s.clone()
    mv2[:, 5] += 100.0 * torch.randn(2, 3, 16, generator=gen, dtype=F64)
    s2[:, 5] -= 50.0
    after = attn(mv2, s2, mask)
    for a, b in zip(before, after):
        torch.testing.assert_close(a[:, :3], b[:, :3], rtol=1e-12, atol=1e-12)
        assert (a[:, 3:] - b[:, 3:]).abs().max() > 1e-3  # those who may see it do


def test_query_without_keys_is_finite_and_ignores_everything(gen):
    attn = GeometricAttention(2, 2, num_heads=1).double()
    mv = torch.randn(1, 4, 2, 16, generator=gen, dtype=F64)
    s = torch.randn(1, 4, 2, generator=gen, dtype=F64)
    mask = torch.ones(1, 4, 4, dtype=torch.bool)
    mask[0, 0] = False
    out_mv, out_s = attn(mv, s, mask)
    assert torch.isfinite(out_mv).all() and torch.isfinite(out_s).all()
    mv2 = mv.clone()
    mv2[0, 1:] += 1.0
    torch.testing.assert_close(attn(mv2, s, mask)[0][0, 0], out_mv[0, 0])


def test_distance_features_give_negative_squared_distance(gen):
    p = torch.randn(5, 3, generator=gen, dtype=F64)
    q = torch.randn(5, 3, generator=gen, dtype=F64)
    w_p, w_q = 2.0, -0.5  # arbitrary homogeneous scales (negative: reflected points)
    phi, _ = distance_features(w_p * ga.embed_point(p))
    _, psi = distance_features(w_q * ga.embed_point(q))
    expected = -((w_p * w_q) ** 2) * (p - q).square().sum(-1)
    torch.testing.assert_close((phi * psi).sum(-1), expected)


def test_attention_fast_equals_dense_and_rejects_bad_mask(gen):
    attn = GeometricAttention(4, 4, num_heads=2).double()
    mv = torch.randn(1, 5, 4, 16, generator=gen, dtype=F64)
    s = torch.randn(1, 5, 4, generator=gen, dtype=F64)
    fast = attn(mv, s)
    with ga.use_dense():
        dense = attn(mv, s)
    torch.testing.assert_close(fast[0], dense[0], rtol=1e-11, atol=1e-11)
    with pytest.raises(ValueError, match="attn_mask"):
        attn(mv, s, torch.ones(1, 5, 5))


def test_attention_without_scalar_channels(gen):
    attn = GeometricAttention(2, 0, num_heads=2).double()
    mv = torch.randn(1, 4, 2, 16, generator=gen, dtype=F64)
    s = mv.new_zeros(1, 4, 0)
    for dense in (False, True):
        with ga.use_dense(dense):
            out_mv, out_s = attn(mv, s)
        assert out_mv.shape == (1, 4, 2, 16) and out_s.shape == (1, 4, 0)
