"""Geometric bilinear layer: geometric products and equivariant joins of learned channels.

The join needs a reference multivector to fix its sign under reflections (GATr's trick):
:func:`reference_multivector` takes the mean of the inputs over real tokens and all channels,
per sample, which transforms with the data and so keeps the layer exactly equivariant.

On the fast path the layer stays in the component-major layout ``(16, N, C)`` from its input
projection through the products to its output projection (one layout change in, one out).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from eqscale.ga import tables
from eqscale.ga.products import bilinear_component_major, dense_enabled, geometric_product, join
from eqscale.nn.linear import EquiLinear, from_component_major, to_component_major


def token_validity(attn_mask: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` bool: tokens that some query may attend to (padding has an all-False column)."""
    return attn_mask.any(dim=-2)


def reference_multivector(mv: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample mean of ``mv (B, T, C, 16)`` over real tokens and channels -> ``(B, 1, 1, 16)``.

    With a mask ``(B, T, T)``, tokens that no query attends to (padding) are left out.
    """
    if attn_mask is None:
        return mv.mean(dim=(1, 2), keepdim=True)
    weights = token_validity(attn_mask).to(mv.dtype)  # (B, T)
    total = (mv.mean(dim=2) * weights.unsqueeze(-1)).sum(dim=1)  # (B, 16)
    count = weights.sum(dim=1, keepdim=True).clamp_min(1.0)
    return (total / count)[:, None, None, :]


class GeometricBilinear(nn.Module):
    """``hidden`` geometric products and ``hidden`` joins of linear projections of the input,
    concatenated and mapped to ``out_mv`` channels by an :class:`EquiLinear` (which also mixes
    in the scalar channels)."""

    def __init__(self, in_mv: int, out_mv: int, in_s: int, out_s: int,
                 hidden_mv: int | None = None) -> None:
        super().__init__()
        self.hidden = hidden_mv or max(1, out_mv // 2)
        # one projection yields the left/right operands of both products
        self.proj = EquiLinear(in_mv, 4 * self.hidden, in_s, 0)
        self.out = EquiLinear(2 * self.hidden, out_mv, in_s, out_s)

    def forward(
        self, mv: torch.Tensor, s: torch.Tensor, reference: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``mv (..., C_in, 16)``, ``s (..., S_in)``, ``reference`` broadcastable to ``mv``
        -> ``(mv (..., C_out, 16), s (..., S_out))``."""
        if dense_enabled():
            ops, _ = self.proj(mv, s)
            gl, gr, jl, jr = ops.split(self.hidden, dim=-2)
            products = torch.cat([geometric_product(gl, gr), join(jl, jr, reference)], dim=-2)
            return self.out(products, s)
        return self._forward_fast(mv, s, reference)

    def _forward_fast(self, mv: torch.Tensor, s: torch.Tensor,
                      reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        lead = mv.shape[:-2]
        s_flat = s.reshape(math.prod(lead), s.shape[-1])
        products, s_out = self.forward_component_major(to_component_major(mv), s_flat,
                                                       self.reference_scale(reference, lead))
        return from_component_major(products, lead), (
            None if s_out is None else s_out.view(*lead, -1))

    def reference_scale(self, reference: torch.Tensor, lead: tuple[int, ...]) -> torch.Tensor:
        """The join's factor, the reference's e123 component, as ``(N, 1)``."""
        e123 = reference[..., tables.E123]  # broadcastable to (*lead, C)
        return torch.broadcast_to(e123, (*lead, e123.shape[-1])).reshape(-1, e123.shape[-1])

    def forward_component_major(
        self, xt: torch.Tensor, s: torch.Tensor, join_scale: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fast path on ``xt (16, N, C_in)``, ``s (N, S_in)``, ``join_scale (N, 1)``."""
        ops, _ = self.proj.forward_component_major(xt, s)
        # contiguous operands: the products' gathers run about twice as fast on them as on
        # the strided channel slices, copies included
        gl, gr, jl, jr = (t.contiguous() for t in ops.split(self.hidden, dim=-1))
        gp = bilinear_component_major("geometric", gl, gr)
        jn = bilinear_component_major("regressive", jl, jr) * join_scale
        return self.out.forward_component_major(torch.cat([gp, jn], dim=-1), s)
