"""The GATr network: an equivariant linear embedding, a stack of GATr blocks, a linear head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from eqscale.ga import tables
from eqscale.ga.products import dense_enabled
from eqscale.nn.bilinear import token_validity
from eqscale.nn.block import GATrBlock
from eqscale.nn.linear import EquiLinear, from_component_major, to_component_major


@dataclass(frozen=True)
class GATrConfig:
    """Channel counts and depth of a :class:`GATr` network."""

    in_mv_channels: int
    out_mv_channels: int
    in_s_channels: int = 0
    out_s_channels: int = 0
    hidden_mv_channels: int = 16
    hidden_s_channels: int = 32
    num_blocks: int = 4
    num_heads: int = 4


class GATr(nn.Module):
    """``mv (B, T, C_in, 16)``, ``s (B, T, S_in)`` -> ``(mv (B, T, C_out, 16), s (B, T, S_out))``.

    ``attn_mask`` is one bool ``(B, T, T)`` mask for every block, or a sequence with one mask per
    block. A block's mask may describe another grouping of the same tokens: a ``(B', T', T')``
    mask with ``B' T' = B T`` runs that block on the view ``(B', T')`` of the token sequence
    (hierarchical attention: object-level blocks see each object as its own sequence, global
    blocks the scene). The join reference is the mean of the network input over real tokens and
    channels unless the caller passes ``reference (B, 1, 1, 16)``. On the fast path the tokens
    stay component-major from the embedding to the head: one layout change in, one out.
    """

    def __init__(self, config: GATrConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embed = EquiLinear(c.in_mv_channels, c.hidden_mv_channels, c.in_s_channels,
                                c.hidden_s_channels)
        self.blocks = nn.ModuleList(
            GATrBlock(c.hidden_mv_channels, c.hidden_s_channels, c.num_heads)
            for _ in range(c.num_blocks)
        )
        self.head = EquiLinear(c.hidden_mv_channels, c.out_mv_channels, c.hidden_s_channels,
                               c.out_s_channels)

    def _masks(self, attn_mask: torch.Tensor | Sequence[torch.Tensor | None] | None,
               b: int, t: int) -> list[torch.Tensor | None]:
        n = self.config.num_blocks
        masks = [attn_mask] * n if attn_mask is None or isinstance(attn_mask, torch.Tensor) \
            else list(attn_mask)
        if len(masks) != n:
            raise ValueError(f"got {len(masks)} attention masks for {n} blocks")
        for m in masks:
            if m is not None and (m.dim() != 3 or m.shape[0] * m.shape[1] != b * t
                                  or m.shape[1] != m.shape[2]):
                raise ValueError(f"attention masks must be (B', T', T') with B' T' = {b * t}, "
                                 f"got {tuple(m.shape)}")
        return masks

    @staticmethod
    def input_reference(mv: torch.Tensor, masks: list[torch.Tensor | None]) -> torch.Tensor:
        """Mean of ``mv (B, T, C, 16)`` over channels and over tokens some block attends to
        (padding has an all-False mask column in every block) -> ``(B, 1, 1, 16)``."""
        b, t = mv.shape[:2]
        valid = None
        for m in masks:
            if m is not None:
                v = token_validity(m).reshape(b, t)
                valid = v if valid is None else valid | v
        if valid is None:
            return mv.mean(dim=(1, 2), keepdim=True)
        weights = valid.to(mv.dtype)
        total = (mv.mean(dim=2) * weights.unsqueeze(-1)).sum(dim=1)
        return (total / weights.sum(dim=1, keepdim=True).clamp_min(1.0))[:, None, None, :]

    def forward(
        self, mv: torch.Tensor, s: torch.Tensor | None = None,
        attn_mask: torch.Tensor | Sequence[torch.Tensor | None] | None = None,
        reference: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        b, t = mv.shape[:2]
        if s is None:
            s = mv.new_zeros(b, t, 0)
        masks = self._masks(attn_mask, b, t)
        if reference is None:
            reference = self.input_reference(mv, masks)
        views = [(b, t) if m is None else (m.shape[0], m.shape[1]) for m in masks]
        if dense_enabled():
            h_mv, h_s = self.embed(mv, s if c.in_s_channels else None)
            for block, mask, (bv, tv) in zip(self.blocks, masks, views):
                ref = reference.repeat_interleave(bv // b, dim=0)
                h_mv, h_s = block(h_mv.reshape(bv, tv, *h_mv.shape[2:]),
                                  h_s.reshape(bv, tv, -1), mask, ref)
            h_mv, h_s = h_mv.reshape(b, t, *h_mv.shape[2:]), h_s.reshape(b, t, -1)
            out_mv, out_s = self.head(h_mv, h_s)
        else:
            n = b * t
            xt, hs = self.embed.forward_component_major(
                to_component_major(mv), s.reshape(n, -1) if c.in_s_channels else None)
            scale = reference[:, 0, 0, tables.E123].repeat_interleave(t)[:, None]  # (N, 1)
            for block, mask, view in zip(self.blocks, masks, views):
                xt, hs = block.forward_component_major(xt, hs, view, mask, scale)
            out_t, out_s = self.head.forward_component_major(xt, hs)
            out_mv = from_component_major(out_t, (b, t))
            out_s = None if out_s is None else out_s.view(b, t, -1)
        if out_s is None:
            out_s = mv.new_zeros(b, t, 0)
        return out_mv, out_s


__all__ = ["GATr", "GATrConfig"]
