"""Data parallelism under ``torchrun``: detect the environment, set up and tear down.

``torchrun --nproc_per_node=W -m eqscale train ...`` sets RANK, WORLD_SIZE and LOCAL_RANK; we
then join a process group (NCCL on CUDA, Gloo on CPU), wrap the model in
``DistributedDataParallel`` and let each rank process ``batch_size / W`` samples of every
global batch. Only rank 0 writes files or shows progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from eqscale.devices import resolve_device
from eqscale.errors import EqscaleError


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def detect() -> DistContext:
    """Read torchrun's environment variables (a single process when they are absent)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError as exc:
        raise EqscaleError(f"bad torchrun environment variable: {exc}") from None
    return DistContext(rank=rank, world_size=world, local_rank=local)


def rank_device(requested: str | None, ctx: DistContext) -> torch.device:
    """The device of this rank (:func:`eqscale.devices.resolve_device`: the request, else CUDA
    with one GPU per local rank if present), made the current CUDA device."""
    device = resolve_device(requested, ctx.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def init(ctx: DistContext, device: torch.device) -> None:
    """Join the process group when running under torchrun with more than one process."""
    if not ctx.enabled:
        return
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=ctx.rank, world_size=ctx.world_size)


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def all_reduce_sum(x: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum of ``x`` over ranks (``x`` itself in a single process)."""
    if ctx.enabled:
        import torch.distributed as dist

        x = x.clone()
        dist.all_reduce(x, op=dist.ReduceOp.SUM)
    return x


def broadcast_value(value: float, ctx: DistContext, device: torch.device) -> float:
    """Rank 0's ``value`` on every rank (a float64 round trip, so it is exact)."""
    if not ctx.enabled:
        return value
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return float(t.item())


def barrier(ctx: DistContext) -> None:
    """Wait until every rank gets here."""
    if ctx.enabled:
        import torch.distributed as dist

        dist.barrier()
