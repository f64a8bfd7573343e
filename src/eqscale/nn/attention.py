"""Multi-head equivariant self-attention over tokens of multivector and scalar channels.

Per head the attention logit between query token a and key token b is, as in the original GATr,

    ( sum_c <q_c, k_c>'  -  sum_c w_hc |x(q_c) - x(k_c)|^2  +  q_s . k_s ) / sqrt(d)

- ``<q, k>'`` is the invariant inner product without the e123 component (7 of the 8 e0-free
  components; the trivector part enters through the distance term instead);
- ``x(q)`` is the point held in the trivector part of ``q``, read after normalising the
  trivector by its homogeneous coordinate ``w = e123`` with the guarded factor
  ``w / (w^2 + eps)``, eps = 1e-3 (about ``1 / w`` for |w| >> 0.03, bounded for w -> 0); so the
  term is a plain squared Euclidean distance, whatever scale the projections give ``w``, and is
  unchanged when a reflection flips the sign of ``w``;
- ``w_hc = exp(l_hc) > 0`` is a learned weight per head and channel, ``l`` initialised to 0;
- ``q_s . k_s`` are the scalar channels; ``d`` is the number of query features.
All three are dot products of feature vectors, so one call of torch's
``scaled_dot_product_attention`` on the concatenated features computes them. Values are the
multivectors (weighted sums of them are equivariant) and scalars. The distance features and the
softmax run in float32 (or float64) even inside a bf16 autocast region: squared distances of
points metres apart lose their differences in bf16.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from eqscale.ga import tables
from eqscale.ga.basis import blade
from eqscale.ga.products import dense_enabled
from eqscale.nn.linear import (
    EquiLinear,
    at_least_float32,
    from_component_major,
    to_component_major,
)

_E012, _E013, _E023, _E123 = (blade(n) for n in ("e012", "e013", "e023", "e123"))
_TRIVECTORS = tables.GRADE_SLICES[3]  # e012, e013, e023, e123
# The inner-product part of the logits: the e0-free components without e123.
_INNER_INDEX = tuple(i for i in tables.E0_FREE if i != _E123)
NORMALIZER_EPS = 1e-3


@functools.cache
def _inner_index(device: torch.device) -> torch.Tensor:
    return torch.tensor(_INNER_INDEX, device=device)


def query_key_distance_features(tri: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Distance features of queries and keys at once (the fast path's form of
    :func:`distance_features`): ``tri (4, ..., 2, H, C_h)`` holds the trivector components
    (e012, e013, e023, e123) of queries (index 0 on the third-last axis) and keys (index 1);
    returns ``(5, ..., 2, H, C_h)`` with the query features scaled by ``weights (H, C_h)``.

    The point's coordinates are used without their embedding signs (-e023, e013, -e012):
    squared distances do not depend on them. In float32 or better."""
    w = tri[3]
    factor = w / (w.square() + NORMALIZER_EPS)
    p = tri[:3] * factor  # normalised positions (up to signs)
    wn = w * factor  # normalised homogeneous coordinate, ~1
    p2, w2, wp = p.square().sum(0), wn.square(), p * wn
    q = torch.cat([torch.stack([p2, w2]), wp]).select(-3, 0) * weights
    k = torch.cat([-torch.stack([w2, p2]), 2.0 * wp]).select(-3, 1)
    return torch.stack([q, k], dim=-3)


def distance_features(mv: torch.Tensor, component_axis: int = -1,
                      eps: float = NORMALIZER_EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Query and key features of multivectors (16 components on ``component_axis``), 5 of them
    on that axis, with ``phi(a) . psi(b) = -|x_a - x_b|^2`` for the points ``x`` held in the
    trivector parts (up to the guard ``w^2 / (w^2 + eps)`` on each homogeneous coordinate).

    Computed in at least float32 and returned in it (autocast is off inside)."""
    with torch.autocast(mv.device.type, enabled=False):
        def part(i: int) -> torch.Tensor:
            return at_least_float32(mv.select(component_axis, i))

        w = part(_E123)
        factor = w / (w.square() + eps)  # ~ 1 / w, bounded near w = 0
        w = (w * factor).unsqueeze(component_axis)
        p = torch.stack([-part(_E023), part(_E013), -part(_E012)], dim=component_axis)
        p = p * factor.unsqueeze(component_axis)
        w2 = w.square()
        p2 = p.square().sum(component_axis, keepdim=True)
        wp = w * p
        return (torch.cat([p2, w2, wp], dim=component_axis),
                torch.cat([-w2, -p2, 2.0 * wp], dim=component_axis))


class GeometricAttention(nn.Module):
    """Self-attention on ``mv (B, T, C, 16)``, ``s (B, T, S)`` with ``num_heads`` heads of
    ``head_mv`` multivector and ``head_s`` scalar channels each.

    The fast path keeps multivectors component-major from the input projection to the output
    projection; the dense reference path builds the same features from the usual layout.
    """

    def __init__(self, mv_channels: int, s_channels: int, num_heads: int = 4,
                 head_mv: int | None = None, head_s: int | None = None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_mv = head_mv or max(1, mv_channels // num_heads)
        self.head_s = head_s if head_s is not None else max(1, s_channels // num_heads)
        h_mv, h_s = num_heads * self.head_mv, num_heads * self.head_s
        # float32 under autocast: the distance features divide by the projected points'
        # homogeneous coordinates, which bf16 holds to 3 digits
        self.qkv = EquiLinear(mv_channels, 3 * h_mv, s_channels, 3 * h_s, full_precision=True)
        self.out = EquiLinear(h_mv, mv_channels, h_s, s_channels)
        # log of the distance weight per head and multivector channel (0: weight 1, as GATr)
        self.log_distance_weights = nn.Parameter(torch.zeros(num_heads, self.head_mv))

    def forward(
        self, mv: torch.Tensor, s: torch.Tensor, attn_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``mv (B, T, C, 16)``, ``s (B, T, S)``, ``attn_mask (B, T, T)`` bool (True: query may
        attend to key) -> ``(mv, s)`` of the input shapes. Queries with no allowed key output
        zeros (before the output projection)."""
        b, n_tok = mv.shape[:2]
        if dense_enabled():
            mask, empty = self._prepare_mask(attn_mask, b, n_tok)
            return self._forward_dense(mv, s, mask, empty)
        out_mv, out_s = self.forward_component_major(
            to_component_major(mv), s.reshape(b * n_tok, s.shape[-1]), (b, n_tok), attn_mask)
        return from_component_major(out_mv, (b, n_tok)), out_s.view(b, n_tok, -1)

    def forward_component_major(
        self, xt: torch.Tensor, s: torch.Tensor, batch_tokens: tuple[int, int],
        attn_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fast path on ``xt (16, B T, C)``, ``s (B T, S)`` -> ``(16, B T, C)``, ``(B T, S)``."""
        b, n_tok = batch_tokens
        mask, empty = self._prepare_mask(attn_mask, b, n_tok)
        h, c_h, s_h = self.num_heads, self.head_mv, self.head_s
        ops, qkv_s = self.qkv.forward_component_major(xt, s)
        ops = ops.view(16, b, n_tok, 3, h, c_h)  # component-major q, k, v
        # queries and keys together: features (12, B, T, 2, H, C_h), one permute for both
        qk = at_least_float32(ops[:, :, :, :2])
        feats = torch.cat([qk.index_select(0, _inner_index(xt.device)),
                           query_key_distance_features(qk[_TRIVECTORS], self.distance_weights())])
        qk_s = at_least_float32(qkv_s.view(b, n_tok, 3, h, s_h)[:, :, :2])  # (B, T, 2, H, S_h)
        qk_feats = torch.cat([feats.permute(3, 1, 4, 2, 0, 5).reshape(2, b, h, n_tok, -1),
                              qk_s.permute(2, 0, 3, 1, 4)], dim=-1)  # (2, B, H, T, D)
        value = torch.cat([ops[:, :, :, 2].permute(1, 3, 2, 0, 4).reshape(b, h, n_tok, -1),
                           qkv_s.view(b, n_tok, 3, h, s_h)[:, :, 2].transpose(1, 2)], dim=-1)
        out = self._attend(qk_feats[0], qk_feats[1], value, mask, empty)  # (B, H, T, Dv)
        out_mv = out[..., : 16 * c_h].reshape(b, h, n_tok, 16, c_h).permute(3, 0, 2, 1, 4)
        out_mv, out_s = self.out.forward_component_major(
            out_mv.reshape(16, b * n_tok, h * c_h),
            out[..., 16 * c_h:].transpose(1, 2).reshape(b * n_tok, h * s_h))
        return out_mv, s.new_zeros(b * n_tok, 0) if out_s is None else out_s

    def distance_weights(self) -> torch.Tensor:
        """The positive weights ``(H, C_h)`` of the distance term, in float32 or better."""
        return at_least_float32(self.log_distance_weights).exp()

    def _forward_dense(
        self, mv: torch.Tensor, s: torch.Tensor, mask: torch.Tensor | None,
        empty: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference path in the ``(..., 16)`` layout."""
        b, n_tok = mv.shape[:2]
        qkv_mv, qkv_s = self.qkv(mv, s)
        q_mv, k_mv, v_mv = (self._split_heads(t, self.head_mv) for t in qkv_mv.chunk(3, dim=2))
        q_s, k_s, v_s = (self._split_heads(t, self.head_s) for t in qkv_s.chunk(3, dim=-1))
        q_dist, _ = distance_features(q_mv)
        _, k_dist = distance_features(k_mv)
        flat = (b, self.num_heads, n_tok, -1)
        idx = torch.tensor(_INNER_INDEX, device=mv.device)
        q_ip, k_ip = (at_least_float32(t.index_select(-1, idx).reshape(flat)) for t in (q_mv, k_mv))
        q_dist = q_dist * self.distance_weights()[:, None, :, None]
        query = torch.cat([q_ip, q_dist.reshape(flat), at_least_float32(q_s)], dim=-1)
        key = torch.cat([k_ip, k_dist.reshape(flat), at_least_float32(k_s)], dim=-1)
        value = torch.cat([v_mv.reshape(flat), v_s], dim=-1)
        out = self._attend(query, key, value, mask, empty).transpose(1, 2)  # (B, T, H, Dv)
        n_mv = self.head_mv * 16
        out_mv = out[..., :n_mv].reshape(b, n_tok, self.num_heads * self.head_mv, 16)
        out_s = out[..., n_mv:].reshape(b, n_tok, self.num_heads * self.head_s)
        out_mv, out_s = self.out(out_mv, out_s)
        return out_mv, s.new_zeros(b, n_tok, 0) if out_s is None else out_s

    def _split_heads(self, t: torch.Tensor, per_head: int) -> torch.Tensor:
        """``(B, T, H * n, ...)`` -> ``(B, H, T, n, ...)``."""
        b, n_tok = t.shape[:2]
        return t.reshape(b, n_tok, self.num_heads, per_head, *t.shape[3:]).transpose(1, 2)

    @staticmethod
    def _prepare_mask(
        attn_mask: torch.Tensor | None, b: int, n_tok: int
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """SDPA mask ``(B, 1, T, T)`` (queries without keys may see all, then get zeroed) and
        the ``(B, T)`` queries without keys."""
        if attn_mask is None:
            return None, None
        if attn_mask.shape != (b, n_tok, n_tok) or attn_mask.dtype != torch.bool:
            raise ValueError(f"attn_mask must be bool ({b}, {n_tok}, {n_tok}), got "
                             f"{attn_mask.dtype} {tuple(attn_mask.shape)}")
        empty = ~attn_mask.any(dim=-1)
        return (attn_mask | empty.unsqueeze(-1)).unsqueeze(1), empty

    @staticmethod
    def _attend(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None, empty: torch.Tensor | None) -> torch.Tensor:
        """Softmax attention ``(B, H, T, D)`` with logits scaled by ``1/sqrt(D_query)``, in the
        precision of the query features (float32 or better; autocast off)."""
        width_v = value.shape[-1]
        scale = 1.0 / math.sqrt(query.shape[-1])
        # equal q/k/v widths let torch pick its fused CPU kernel; zero padding changes nothing
        width = max(query.shape[-1], width_v)
        query, key, value = (F.pad(t.to(query.dtype), (0, width - t.shape[-1]))
                             for t in (query, key, value))
        with torch.autocast(query.device.type, enabled=False):
            out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scale)
        if empty is not None:
            out = out.masked_fill(empty[:, None, :, None], 0.0)
        return out[..., :width_v]
