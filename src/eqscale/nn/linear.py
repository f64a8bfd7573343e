"""Pin(3,0,1)-equivariant linear maps between multivector channels, plus scalar channels.

Every equivariant linear map of one multivector is a combination of 9 basis maps: the 5 grade
projections ``<x>_k`` and the 4 maps ``e0 <x>_k`` (k = 0..3; e0 is invariant under the group,
so multiplying by it commutes with the action). A layer holds 9 weights per channel pair.

Fast path: grade-wise matrix products. Component c of grade k receives ``W_k x_c`` plus, if c
contains e0, ``V_(k-1) x_src(c)`` where ``e_c = e0 e_src(c)``: one batched matmul over the 16
components and one over the 8 e0-free sources, i.e. 24 (C_out x C_in) products per token instead
of the dense reference's (16 C_out x 16 C_in) contraction (about 10x fewer FLOPs).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import nn

from eqscale.ga import tables
from eqscale.ga.products import dense_enabled

NUM_BASIS_MAPS = 9


@functools.cache
def basis_maps(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(9, 16, 16)``: ``basis[b, out, in]``; 5 grade projections then ``e0 <x>_k``, k=0..3."""
    basis = torch.zeros(NUM_BASIS_MAPS, 16, 16, dtype=torch.float64)
    for k, sl in enumerate(tables.GRADE_SLICES):
        idx = torch.arange(sl.start, sl.stop)
        basis[k, idx, idx] = 1.0
    gp = tables.dense_table("geometric", torch.device("cpu"), torch.float64)
    e0 = tables.INDEX[(0,)]
    for k in range(4):
        sl = tables.GRADE_SLICES[k]
        basis[5 + k, :, sl] = gp[e0, sl, :].T  # (e0 e_in)[out]
    return basis.to(device=device, dtype=dtype)


@functools.cache
def _index_tables(device: torch.device) -> tuple[torch.Tensor, ...]:
    """Index tensors of the fast path, cached per device:

    - ``grade (16,)``: the grade of every component (its projection map's index);
    - ``src, dst (8,)``: the e0-free components and the components ``e0 e_src`` they map to
      (e0 leads every blade it joins, so the sign is always +1);
    - ``e0_map (8,)``: the basis-map index ``5 + grade(src)`` of each of those maps.
    """
    src, dst, e0_map = [], [], []
    for i in tables.E0_FREE:
        sign, blade = tables.blade_product((0,), tables.BLADES[i])
        assert sign == 1
        src.append(i)
        dst.append(tables.INDEX[blade])
        e0_map.append(5 + tables.GRADES[i])
    as_tensor = functools.partial(torch.tensor, device=device)
    return as_tensor(tables.GRADES), as_tensor(src), as_tensor(dst), as_tensor(e0_map)


def equi_linear_dense(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Slow reference: ``(..., C_in, 16)`` with ``weight (C_out, C_in, 9)`` -> ``(..., C_out, 16)``
    through the full ``(C_out 16) x (C_in 16)`` matrix."""
    full = torch.einsum("oib,bxy->oxiy", weight, basis_maps(x.device, x.dtype))
    return torch.einsum("...iy,oxiy->...ox", x, full)


def to_component_major(x: torch.Tensor) -> torch.Tensor:
    """``(..., C, 16)`` -> contiguous ``(16, N, C)`` with N the flattened leading dims.

    A 2-D transpose: torch copies those with a blocked kernel (3-D permutes crawl)."""
    return x.reshape(-1, 16).t().contiguous().view(16, -1, x.shape[-2])


def from_component_major(xt: torch.Tensor, lead: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`to_component_major`: ``(16, N, C)`` -> ``(*lead, C, 16)``."""
    return xt.reshape(16, -1).t().contiguous().view(*lead, xt.shape[-1], 16)


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32 if it is a half-precision tensor, else unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The active autocast dtype for this device type, or None (torch >= 2.4 API, with the
    older per-device functions as fallback)."""
    if hasattr(torch, "get_autocast_dtype"):
        if torch.is_autocast_enabled(device_type):
            return torch.get_autocast_dtype(device_type)
        return None
    if device_type == "cpu":
        return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
    return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else None


class _EquiLinearComponentMajor(torch.autograd.Function):
    """Grade-wise equivariant linear map with a hand-written backward, in a few large ops.

    Forward: one batched matmul over the 16 components (component c with its grade's weights)
    and one over the 8 e0-free components into their ``e0``-multiplied partners, added in place
    by one ``index_add_``. Backward mirrors it with the transposed weights; the weight gradients
    are per-component products summed into the 9 basis maps by two ``index_add_``.
    """

    @staticmethod
    def forward(ctx, xt: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        dtype = _autocast_dtype(xt.device.type) or xt.dtype  # matmuls in autocast's dtype
        ctx.input_dtypes = (xt.dtype, weight.dtype)
        grade, src, dst, e0_map = _index_tables(xt.device)
        xt, weight = xt.to(dtype).contiguous(), weight.to(dtype)
        with torch.autocast(xt.device.type, enabled=False):
            # contiguous weights: torch's CPU bmm loops over a permuted operand's batch
            w_proj = weight.index_select(2, grade).permute(2, 1, 0).contiguous()  # (16, Ci, Co)
            w_e0 = weight.index_select(2, e0_map).permute(2, 1, 0).contiguous()  # (8, Ci, Co)
            x_src = xt.index_select(0, src)  # (8, N, C_in)
            out = torch.bmm(xt, w_proj)  # (16, N, C_out): the grade projections
            out.index_add_(0, dst, torch.bmm(x_src, w_e0))  # the e0 maps
        ctx.save_for_backward(xt, x_src, w_proj, w_e0)
        ctx.weight_shape = weight.shape
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        xt, x_src, w_proj, w_e0 = ctx.saved_tensors
        grade, src, dst, e0_map = _index_tables(xt.device)
        g = grad.to(xt.dtype).contiguous()
        grad_x = grad_w = None
        with torch.autocast(xt.device.type, enabled=False):
            g_dst = g.index_select(0, dst)  # (8, N, C_out)
            if ctx.needs_input_grad[0]:
                grad_x = torch.bmm(g, w_proj.transpose(1, 2))  # (16, N, C_in)
                grad_x.index_add_(0, src, torch.bmm(g_dst, w_e0.transpose(1, 2)))
                grad_x = grad_x.to(ctx.input_dtypes[0])
            if ctx.needs_input_grad[1]:
                c_out, c_in, n_maps = ctx.weight_shape
                per_map = xt.new_zeros(n_maps, c_in, c_out)
                per_map.index_add_(0, grade, torch.bmm(xt.transpose(1, 2), g))
                per_map.index_add_(0, e0_map, torch.bmm(x_src.transpose(1, 2), g_dst))
                grad_w = per_map.permute(2, 1, 0).to(ctx.input_dtypes[1])
        return grad_x, grad_w


def equi_linear_component_major(xt: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Grade-wise fast path on ``xt (16, N, C_in)`` -> ``(16, N, C_out)``."""
    return _EquiLinearComponentMajor.apply(xt, weight)


def equi_linear_fast(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Grade-wise fast path of :func:`equi_linear_dense` (same result, same layout)."""
    out = equi_linear_component_major(to_component_major(x), weight)
    return from_component_major(out, x.shape[:-2])


class EquiLinear(nn.Module):
    """Equivariant linear layer on ``mv (..., C_in, 16)`` and ``s (..., S_in)``.

    Multivector outputs: the 9 basis maps per channel pair, plus (on the grade-0 component) a
    linear map of the scalar channels and a bias. Scalar outputs: a linear map of the scalar
    channels and of the multivectors' grade-0 components (both invariant). The pseudoscalar is
    not mixed with scalars: it flips sign under reflections.
    """

    def __init__(self, in_mv: int, out_mv: int, in_s: int = 0, out_s: int = 0,
                 full_precision: bool = False) -> None:
        super().__init__()
        # full_precision: run in float32 (or better) even inside an autocast region
        self.full_precision = full_precision
        if min(in_mv, out_mv) < 1 or min(in_s, out_s) < 0:
            raise ValueError(f"bad channel counts {in_mv=} {out_mv=} {in_s=} {out_s=}")
        self.in_mv, self.out_mv, self.in_s, self.out_s = in_mv, out_mv, in_s, out_s
        self.weight = nn.Parameter(torch.empty(out_mv, in_mv, NUM_BASIS_MAPS))
        self.mv_bias = nn.Parameter(torch.zeros(out_mv))
        self.s_to_mv = nn.Linear(in_s, out_mv, bias=False) if in_s else None
        self.to_s = nn.Linear(in_mv + in_s, out_s) if out_s else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Unit-variance-preserving init: each component sums ~C_in grade terms, e0 terms halved."""
        std = 1.0 / math.sqrt(self.in_mv)
        with torch.no_grad():
            self.weight.normal_(0.0, std)
            self.weight[..., 5:].mul_(0.5)
            self.mv_bias.zero_()
            if self.s_to_mv is not None:
                nn.init.normal_(self.s_to_mv.weight, 0.0, 1.0 / math.sqrt(self.in_s + self.in_mv))
            if self.to_s is not None:
                fan_in = self.in_mv + self.in_s
                nn.init.normal_(self.to_s.weight, 0.0, 1.0 / math.sqrt(fan_in))
                nn.init.zeros_(self.to_s.bias)

    def forward(
        self, mv: torch.Tensor, s: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``mv (..., C_in, 16)``, ``s (..., S_in)`` -> ``(mv (..., C_out, 16), s (..., S_out))``;
        the scalar output is None when ``out_s == 0``."""
        if mv.shape[-2:] != (self.in_mv, 16):
            raise ValueError(f"expected mv (..., {self.in_mv}, 16), got {tuple(mv.shape)}")
        if self.in_s and (s is None or s.shape[-1] != self.in_s):
            raise ValueError(f"expected s (..., {self.in_s}), got "
                             f"{None if s is None else tuple(s.shape)}")
        lead = mv.shape[:-2]
        if dense_enabled():
            return self._forward(mv, s, equi_linear_dense, component_axis=-1)
        s_flat = None if s is None else s.reshape(math.prod(lead), s.shape[-1])
        out, s_out = self.forward_component_major(to_component_major(mv), s_flat)
        return from_component_major(out, lead), None if s_out is None else s_out.view(*lead, -1)

    def forward_component_major(
        self, xt: torch.Tensor, s: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The fast path on ``xt (16, N, C_in)``, ``s (N, S_in)`` -> ``(16, N, C_out)``,
        ``(N, S_out)``; layers chain it to skip layout changes between them."""
        return self._forward(xt, s, equi_linear_component_major, component_axis=0)

    def _forward(
        self, mv: torch.Tensor, s: torch.Tensor | None,
        linear: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], component_axis: int,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.full_precision and _autocast_dtype(mv.device.type) is not None:
            with torch.autocast(mv.device.type, enabled=False):
                return self._forward(at_least_float32(mv),
                                     None if s is None else at_least_float32(s), linear,
                                     component_axis)
        weight = self.weight.to(mv.dtype)
        out = linear(mv, weight)
        scalar_in = self.mv_bias.to(mv.dtype)
        if self.s_to_mv is not None:
            scalar_in = scalar_in + self.s_to_mv(s)
        # bias and scalar channels feed the invariant grade-0 component
        out.select(component_axis, 0).add_(scalar_in)
        s_out = None
        if self.to_s is not None:
            grade0 = mv.select(component_axis, 0)
            s_out = self.to_s(grade0 if not self.in_s else torch.cat([grade0, s], dim=-1))
        return out, s_out
