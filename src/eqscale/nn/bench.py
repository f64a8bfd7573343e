"""``eqscale bench ga``: forward+backward time of one GATr block, fast path vs dense reference.

Both variants run the same block with the same weights and inputs in one process, alternating,
so machine load affects both alike; the printed ratio is dense time / fast time, each the
minimum over the repeats (the run least disturbed by other processes; medians are in the JSON).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import torch

from eqscale.atomic import write_json_atomic
from eqscale.errors import EqscaleError
from eqscale.ga.products import use_dense
from eqscale.nn.block import GATrBlock


@dataclass(frozen=True)
class BenchConfig:
    """Problem size of the block benchmark (the issue's numbers; ``quick`` shrinks it)."""

    batch: int = 8
    tokens: int = 256
    mv_channels: int = 16
    s_channels: int = 32
    num_heads: int = 4
    repeats: int = 7
    warmup: int = 1


QUICK = BenchConfig(batch=2, tokens=32, repeats=2, warmup=1)


def _resolve_device(device: str | None) -> torch.device:
    name = device or "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise EqscaleError(f"unknown device {name!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EqscaleError(f"device {name!r} requested but CUDA is not available")
    return dev


def _step_seconds(block: GATrBlock, mv: torch.Tensor, s: torch.Tensor, dense: bool,
                  device: torch.device) -> float:
    """Wall time of one forward + backward pass."""
    block.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    with use_dense(dense):
        out_mv, out_s = block(mv, s)
        (out_mv.square().mean() + out_s.square().mean()).backward()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def run_bench(config: BenchConfig, device: torch.device) -> dict:
    """Time the block both ways (alternating); return best and median times and ratios."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    block = GATrBlock(config.mv_channels, config.s_channels, config.num_heads).to(device)
    mv = torch.randn(config.batch, config.tokens, config.mv_channels, 16, generator=gen)
    s = torch.randn(config.batch, config.tokens, config.s_channels, generator=gen)
    mv, s = mv.to(device), s.to(device)
    times: dict[str, list[float]] = {"fast": [], "dense": []}
    for i in range(config.warmup + config.repeats):
        for name in ("fast", "dense"):
            seconds = _step_seconds(block, mv, s, name == "dense", device)
            if i >= config.warmup:
                times[name].append(seconds)
    fast, dense = min(times["fast"]), min(times["dense"])
    return {
        "benchmark": "gatr_block_forward_backward",
        "config": asdict(config),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "fast_seconds": fast,
        "dense_seconds": dense,
        "speedup": dense / fast,
        "fast_median_seconds": statistics.median(times["fast"]),
        "dense_median_seconds": statistics.median(times["dense"]),
        "speedup_median": statistics.median(times["dense"]) / statistics.median(times["fast"]),
        "fast_all": times["fast"],
        "dense_all": times["dense"],
    }


def _thread_counts(device: torch.device) -> list[int]:
    """The process's thread count, and on a multi-threaded CPU also one thread: small kernels
    (the fast path has many) suffer most when other processes compete for the cores."""
    default = torch.get_num_threads()
    return [default, 1] if device.type == "cpu" and default > 1 else [default]


def bench_ga(out: str | None = None, quick: bool = False, device: str | None = None) -> dict:
    """Print (and with ``out`` write as JSON) the GATr block fast-vs-dense benchmark.

    The headline result is at the process's thread count; on CPU the same run also measures
    at one thread (listed under ``by_threads``)."""
    dev = _resolve_device(device)
    config = QUICK if quick else BenchConfig()
    default_threads = torch.get_num_threads()
    runs = []
    try:
        for threads in _thread_counts(dev):
            torch.set_num_threads(threads)
            runs.append(run_bench(config, dev))
    finally:
        torch.set_num_threads(default_threads)
    result = dict(runs[0], by_threads=runs)
    c = config
    print(f"GATr block forward+backward: batch {c.batch}, {c.tokens} tokens, "
          f"{c.mv_channels} mv + {c.s_channels} scalar channels, {c.num_heads} heads, "
          f"{dev}, best of {c.repeats}")
    print("  threads | fast path (grade-wise linear, sparse products) | dense reference "
          "(16x16 blocks, full tables) | speed-up")
    for run in runs:
        print(f"  {run['threads']:7d} | {run['fast_seconds']:45.4f} s | "
              f"{run['dense_seconds']:38.4f} s | {run['speedup']:6.2f}x")
    print(f"  speed-up: {result['speedup']:.2f}x at {result['threads']} threads")
    if out is not None:
        write_json_atomic(out, result, indent=2)
    return result
