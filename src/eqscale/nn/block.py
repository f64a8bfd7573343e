"""The pre-norm GATr block: norm -> attention -> residual, norm -> geometric MLP -> residual."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from eqscale.ga.products import dense_enabled
from eqscale.nn.attention import GeometricAttention
from eqscale.nn.bilinear import GeometricBilinear, reference_multivector
from eqscale.nn.layers import EquiLayerNorm, ScalarGatedGELU
from eqscale.nn.linear import EquiLinear, from_component_major, to_component_major


class GeometricMLP(nn.Module):
    """Bilinear layer (products and joins) -> scalar-gated GELU -> equivariant linear."""

    def __init__(self, mv_channels: int, s_channels: int, hidden_mv: int, hidden_s: int) -> None:
        super().__init__()
        self.bilinear = GeometricBilinear(mv_channels, hidden_mv, s_channels, hidden_s)
        self.gate = ScalarGatedGELU()
        self.out = EquiLinear(hidden_mv, mv_channels, hidden_s, s_channels)

    def forward(self, mv: torch.Tensor, s: torch.Tensor,
                reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mv (..., C, 16)``, ``s (..., S)``, ``reference`` broadcastable -> same shapes."""
        if dense_enabled():
            mv, s = self.bilinear(mv, s, reference)
            mv, s = self.gate(mv, s)
            return self.out(mv, s)
        lead = mv.shape[:-2]
        xt, s = self.forward_component_major(
            to_component_major(mv), s.reshape(math.prod(lead), s.shape[-1]),
            self.bilinear.reference_scale(reference, lead))
        return from_component_major(xt, lead), s.view(*lead, -1)

    def forward_component_major(self, xt: torch.Tensor, s: torch.Tensor,
                                join_scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fast path on ``xt (16, N, C)``, ``s (N, S)``, ``join_scale (N, 1)``."""
        xt, s = self.bilinear.forward_component_major(xt, s, join_scale)
        xt = F.gelu(xt[:1]) * xt  # the gate is pointwise in either layout
        return self.out.forward_component_major(xt, F.gelu(s))


class GATrBlock(nn.Module):
    """One pre-norm block on ``mv (B, T, C, 16)`` and ``s (B, T, S)``.

    The join's reference multivector is the mean of the block input over real tokens and
    channels (:func:`reference_multivector`) unless the caller passes one (the :class:`GATr`
    network passes the mean of its own input to every block, as GATr does).
    """

    def __init__(self, mv_channels: int, s_channels: int, num_heads: int = 4,
                 head_mv: int | None = None, head_s: int | None = None,
                 mlp_mv: int | None = None, mlp_s: int | None = None) -> None:
        super().__init__()
        if s_channels < 1:
            raise ValueError("GATrBlock needs at least one scalar channel")
        self.mv_channels, self.s_channels = mv_channels, s_channels
        self.norm_attn = EquiLayerNorm()
        self.attention = GeometricAttention(mv_channels, s_channels, num_heads, head_mv, head_s)
        self.norm_mlp = EquiLayerNorm()
        self.mlp = GeometricMLP(mv_channels, s_channels, mlp_mv or 2 * mv_channels,
                                mlp_s or 2 * s_channels)

    def forward(
        self, mv: torch.Tensor, s: torch.Tensor, attn_mask: torch.Tensor | None = None,
        reference: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``mv (B, T, C, 16)``, ``s (B, T, S)``, ``attn_mask (B, T, T)`` bool -> ``(mv, s)``."""
        if mv.ndim != 4 or mv.shape[2:] != (self.mv_channels, 16):
            raise ValueError(f"expected mv (B, T, {self.mv_channels}, 16), got {tuple(mv.shape)}")
        if s.shape != (*mv.shape[:2], self.s_channels):
            raise ValueError(f"expected s (B, T, {self.s_channels}), got {tuple(s.shape)}")
        if reference is None:
            reference = reference_multivector(mv, attn_mask)
        if dense_enabled():
            h_mv, h_s = self.attention(*self.norm_attn(mv, s), attn_mask)
            mv, s = mv + h_mv, s + h_s
            h_mv, h_s = self.mlp(*self.norm_mlp(mv, s), reference)
            return mv + h_mv, s + h_s
        # fast path: the residual stream stays component-major (16, B T, C) inside the block
        lead = mv.shape[:2]
        xt, s = self.forward_component_major(
            to_component_major(mv), s.reshape(math.prod(lead), self.s_channels), lead,
            attn_mask, self.mlp.bilinear.reference_scale(reference, lead))
        return from_component_major(xt, lead), s.view(*lead, -1)

    def forward_component_major(
        self, xt: torch.Tensor, s: torch.Tensor, batch_tokens: tuple[int, int],
        attn_mask: torch.Tensor | None, join_scale: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fast path on ``xt (16, N, C)``, ``s (N, S)`` with ``N = B T`` for ``batch_tokens =
        (B, T)``, ``attn_mask (B, T, T)`` and the join's factor ``join_scale (N, 1)``. A network
        of blocks chains it, so that the layout changes once per network, not per block."""
        h_mv, h_s = self.attention.forward_component_major(
            *self.norm_attn.forward_component_major(xt, s), batch_tokens, attn_mask)
        xt, s = xt + h_mv, s + h_s
        h_mv, h_s = self.mlp.forward_component_major(
            *self.norm_mlp.forward_component_major(xt, s), join_scale)
        return xt + h_mv, s + h_s
