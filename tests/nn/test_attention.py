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
    """phi(a) . psi(b) = -|x_a - x_b|^2 for points of any homogeneous scale (negative: reflected
    points), up to the guard w^2 / (w^2 + eps) on each homogeneous coordinate."""
    p = torch.randn(5, 3, generator=gen, dtype=F64)
    q = torch.randn(5, 3, generator=gen, dtype=F64)
    w_p, w_q = 2.0, -0.5
    phi, _ = distance_features(w_p * ga.embed_point(p))
    _, psi = distance_features(w_q * ga.embed_point(q))
    guard = [w**2 / (w**2 + 1e-3) for w in (w_p, w_q)]
    expected = -(guard[0] * guard[1]) ** 2 * (p - q).square().sum(-1)
    torch.testing.assert_close((phi * psi).sum(-1), expected)
    # a vanishing homogeneous coordinate gives bounded features, not infinities
    ideal = ga.embed_point(p) - ga.embed_point(q)  # e123 = 0
    phi0, psi0 = distance_features(ideal + 1e-9 * ga.embed_point(p))
    assert torch.isfinite(phi0).all() and phi0.abs().max() < 1e3


def test_distance_weights_start_at_one_per_head_and_channel():
    attn = GeometricAttention(8, 4, num_heads=2)
    assert attn.log_distance_weights.shape == (2, 4)
    assert torch.equal(attn.distance_weights(), torch.ones(2, 4))


def test_logits_run_in_float32_under_bf16_autocast(gen, monkeypatch):
    """Under CPU bf16 autocast the distance features, the logits and the softmax see float32,
    and the output stays close to the float32 computation."""
    from eqscale.nn.attention import GeometricAttention as GA

    seen = []
    original = GA._attend

    def spy(query, key, value, mask, empty):
        seen.append((query.dtype, key.dtype, value.dtype))
        return original(query, key, value, mask, empty)

    monkeypatch.setattr(GA, "_attend", staticmethod(spy))
    attn = GeometricAttention(4, 4, num_heads=2)
    mv = 3.0 * torch.randn(2, 6, 4, 16, generator=gen)
    s = torch.randn(2, 6, 4, generator=gen)
    reference, _ = attn(mv, s)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = attn(mv, s)
        phi, psi = distance_features(mv.bfloat16())
    assert seen and all(q == k == torch.float32 for q, k, _ in seen)
    assert phi.dtype == psi.dtype == torch.float32
    torch.testing.assert_close(out.float(), reference, rtol=0.1, atol=0.1)


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
