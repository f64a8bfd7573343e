"""Compute accounting (SPEC 5): per-sample training FLOPs, nominal and executed.

Notation: n objects (slots the model runs on; may be fractional when it is a dataset mean),
P faces per object (tokens per object), T = n P tokens, L blocks, half of them object-level
(blocks 0, 2, ...) and half global (blocks 1, 3, ...).

Two conventions:

* ``nominal`` -- GATr's published convention: 6 FLOPs per weight-matrix entry per token
  (2 for the forward multiply-add, 4 for the two backward products), where a
  multivector-to-multivector weight counts as a dense 16 x 16 block per channel pair, plus
  attention at 3 x its forward cost over the (query, key) pairs a block actually attends
  (P^2 per object for object-level blocks, T^2 for global ones). Fixed (non-trained) matrices
  such as the Fourier frequencies are not counted.
* ``executed`` -- what this implementation runs: every matrix multiplication of the forward and
  the backward pass, as ``torch.utils.flop_counter.FlopCounterMode`` counts them (2 FLOPs per
  multiply-add, including the batched matmuls inside eqscale.ga's sparse products; elementwise
  work is left out, as the counter does). Backward products are counted
  exactly: 2x forward for a layer whose input needs a gradient, 1x (weight gradient only) for the
  first layer, 0 for fixed maps, 2.5x for attention (the CPU and GPU flash kernels recompute the
  scores: 5 batched products instead of 2). ``tests/models/test_flops.py`` checks it against the
  counter.
"""

from __future__ import annotations

from dataclasses import dataclass

from eqscale.errors import EqscaleError
from eqscale.models.sizes import GATrConfig, TransformerConfig, check_arch, size_config


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one training sample (forward + backward) in both conventions."""

    nominal: float
    executed: float


def attention_pairs(objects: float, faces: int, depth: int) -> tuple[float, float]:
    """(object-level pairs, global pairs) summed over the blocks of a model of ``depth``.

    Object-level blocks attend P^2 pairs per object (n P^2 per sample), global ones T^2.
    """
    n_object_blocks = (depth + 1) // 2
    n_global_blocks = depth // 2
    tokens = objects * faces
    return n_object_blocks * objects * faces**2, n_global_blocks * tokens**2


def transformer_flops(c: TransformerConfig, objects: float, faces: int) -> FlopCount:
    """Baseline transformer FLOPs per training sample (see the module docstring)."""
    w, m, nf = c.width, c.mlp_ratio * c.width, c.rff_features
    tokens = objects * faces
    f_in = c.input_features
    # Weight-matrix entries applied to every token: input map, per block qkv (3w^2), output
    # projection (w^2) and MLP (2 w m), and the head (9 w).
    block_weights = 3 * w * w + w * w + 2 * w * m
    weights = f_in * w + c.depth * block_weights + 9 * w
    # Attention forward per attended pair: q.k (2 d per head, summed over heads: 2w) and
    # softmax(.) v (another 2w) -> 4w.
    obj_pairs, glob_pairs = attention_pairs(objects, faces, c.depth)
    attn_fwd = 4 * w * (obj_pairs + glob_pairs)
    nominal = 6 * weights * tokens + 3 * attn_fwd

    # Executed. Forward: the Fourier projections (6 vectors x (3 -> nf) per token), then every
    # weight matrix once (2 per entry).
    rff_fwd = 6 * 2 * 3 * nf * tokens
    fwd = rff_fwd + 2 * weights * tokens + attn_fwd
    # Backward: the input map only needs its weight gradient (its input needs none), the Fourier
    # map needs nothing, the other weights need input and weight gradients, attention 2.5x.
    bwd = 2 * f_in * w * tokens + 4 * (weights - f_in * w) * tokens + 2.5 * attn_fwd
    return FlopCount(nominal=float(nominal), executed=float(fwd + bwd))


def flops_per_sample(
    arch: str, size: int | str, objects: float, faces_per_object: int
) -> FlopCount:
    """Training FLOPs (forward + backward) of one sample of ``objects`` x ``faces_per_object``.

    ``objects`` is the number of object slots the model runs on; pass the mean over a dataset
    for an average cost (it may be fractional).
    """
    check_arch(arch)
    if not objects > 0 or not faces_per_object >= 1:
        raise EqscaleError(
            f"need objects > 0 and faces_per_object >= 1, got {objects} and {faces_per_object}"
        )
    config = size_config(arch, size)
    if isinstance(config, TransformerConfig):
        return transformer_flops(config, float(objects), int(faces_per_object))
    assert isinstance(config, GATrConfig)
    from eqscale.models.gatr_model import gatr_flops

    return gatr_flops(config, float(objects), int(faces_per_object))


_CPU_ATTENTION_REGISTERED = False


def register_cpu_attention_flops() -> None:
    """Teach ``FlopCounterMode`` the CPU flash-attention ops (it counts 0 for them otherwise).

    Call before creating the counter (it copies the registry). Idempotent. Forward: 2 batched
    products (q k^T, p v); backward: 5 (score recomputation, dp, dv, dq, dk) -- the same
    formulas torch uses for its GPU flash kernels.
    """
    global _CPU_ATTENTION_REGISTERED
    if _CPU_ATTENTION_REGISTERED:
        return
    import torch
    from torch.utils import flop_counter

    aten = torch.ops.aten
    fwd_op = aten._scaled_dot_product_flash_attention_for_cpu
    bwd_op = aten._scaled_dot_product_flash_attention_for_cpu_backward
    if fwd_op not in flop_counter.flop_registry:

        @flop_counter.register_flop_formula(fwd_op)
        def _cpu_sdpa(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
            return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)

    if bwd_op not in flop_counter.flop_registry:

        @flop_counter.register_flop_formula(bwd_op)
        def _cpu_sdpa_backward(grad_out_shape, query_shape, key_shape, value_shape, *args,
                               out_shape=None, **kwargs):
            return flop_counter.sdpa_backward_flop_count(
                grad_out_shape, query_shape, key_shape, value_shape
            )

    _CPU_ATTENTION_REGISTERED = True
