"""The GATr network: an equivariant linear embedding, a stack of GATr blocks, a linear head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from eqscale.nn.bilinear import reference_multivector
from eqscale.nn.block import GATrBlock
from eqscale.nn.linear import EquiLinear


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
    block (hierarchical attention alternates object-level and global masks). The join reference
    is the mean of the network input over real tokens and channels, shared by all blocks.
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

    def forward(
        self, mv: torch.Tensor, s: torch.Tensor | None = None,
        attn_mask: torch.Tensor | Sequence[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        if s is None:
            s = mv.new_zeros(*mv.shape[:2], 0)
        if attn_mask is None or isinstance(attn_mask, torch.Tensor):
            masks = [attn_mask] * c.num_blocks
        else:
            masks = list(attn_mask)
            if len(masks) != c.num_blocks:
                raise ValueError(f"got {len(masks)} attention masks for {c.num_blocks} blocks")
        union = None
        for m in masks:
            if m is not None:
                union = m if union is None else union | m
        reference = reference_multivector(mv, union)
        h_mv, h_s = self.embed(mv, s if c.in_s_channels else None)
        for block, mask in zip(self.blocks, masks):
            h_mv, h_s = block(h_mv, h_s, mask, reference)
        out_mv, out_s = self.head(h_mv, h_s)
        if out_s is None:
            out_s = mv.new_zeros(*mv.shape[:2], 0)
        return out_mv, out_s
