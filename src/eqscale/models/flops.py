"""``FlopCounterMode`` support: the counter must see every op the executed count charges.

The FLOP formulas themselves (nominal and executed) are torch-free methods of the size
configurations in :mod:`eqscale.models.sizes` (per architecture through
:mod:`eqscale.models.registry`), re-exported here; ``tests/models/test_flops.py``
checks the executed count against ``torch.utils.flop_counter.FlopCounterMode``.
"""

from __future__ import annotations

from eqscale.models.registry import flops_per_sample
from eqscale.models.sizes import FlopCount, attention_pairs

__all__ = ["FlopCount", "attention_pairs", "flops_per_sample", "register_cpu_attention_flops"]

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
