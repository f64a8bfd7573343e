"""Pointwise equivariant layers: layer norm and the scalar-gated GELU."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from eqscale.ga import tables
from eqscale.ga.products import inner_product
from eqscale.nn.linear import at_least_float32


class EquiLayerNorm(nn.Module):
    """``mv / sqrt(mean_channels <mv, mv> + eps)`` and a plain layer norm of the scalars.

    ``<.,.>`` is the invariant inner product (the e0-free components), so the normaliser is
    invariant and the map equivariant. No learnable parameters: an affine scale per channel is
    already part of the next :class:`~eqscale.nn.EquiLinear`. Runs in float32 (or float64) even
    inside a bf16 autocast region: the normaliser sums squares.
    """

    def __init__(self, eps: float = 0.01) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, mv: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mv (..., C, 16)``, ``s (..., S)`` -> same shapes, in float32 or better."""
        with torch.autocast(mv.device.type, enabled=False):
            mv, s = at_least_float32(mv), at_least_float32(s)
            sq = inner_product(mv, mv).mean(dim=-2, keepdim=True)  # (..., 1, 1)
            mv = mv / torch.sqrt(sq + self.eps)
            if s.shape[-1]:
                s = F.layer_norm(s, s.shape[-1:], eps=1e-5)
            return mv, s

    def forward_component_major(self, xt: torch.Tensor,
                                s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The same on ``xt (16, N, C)``, ``s (N, S)``."""
        with torch.autocast(xt.device.type, enabled=False):
            xt, s = at_least_float32(xt), at_least_float32(s)
            mask = tables.e0_free_mask(xt.device, xt.dtype)[:, None, None]
            sq = (xt.square() * mask).sum(0).mean(-1, keepdim=True)  # (N, 1)
            xt = xt / torch.sqrt(sq + self.eps)
            if s.shape[-1]:
                s = F.layer_norm(s, s.shape[-1:], eps=1e-5)
            return xt, s


class ScalarGatedGELU(nn.Module):
    """``mv * gelu(<mv>_0)`` per channel (the scalar component is invariant) and ``gelu(s)``."""

    def forward(self, mv: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mv (..., C, 16)``, ``s (..., S)`` -> same shapes."""
        return F.gelu(mv[..., :1]) * mv, F.gelu(s)
