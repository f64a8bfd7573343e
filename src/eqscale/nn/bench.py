"""``eqscale bench ga``: forward+backward time of GATr layers, fast path vs dense reference.

Two problems: one block at 16 multivector / 32 scalar channels on 256 tokens (where the fast
path's savings in FLOPs show), and the task model's network (8 / 16 channels, 80 tokens, 4
blocks: an embedding, the blocks, a head), where per-operation overhead dominates. Each runs at
1 and 2 threads (small kernels suffer most when other processes share the cores). Both paths
run the same weights and inputs in one process, alternating, so machine load affects both
alike; the printed ratio is dense time / fast time, each the minimum over the repeats (the run
least disturbed by other processes; medians are in the JSON). The benchmark also checks that the
two paths agree on its inputs (``max_relative_difference``).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass

import torch

from eqscale.atomic import write_json_atomic
from eqscale.devices import resolve_device
from eqscale.ga import embed_point
from eqscale.ga.products import use_dense
from eqscale.nn.block import GATrBlock
from eqscale.nn.gatr import GATr, GATrConfig


@dataclass(frozen=True)
class BenchConfig:
    """One problem: ``blocks == 0`` times a lone :class:`GATrBlock`, else a :class:`GATr`
    network of that many blocks (embedding and head included)."""

    name: str = "block"
    batch: int = 8
    tokens: int = 256
    mv_channels: int = 16
    s_channels: int = 32
    num_heads: int = 4
    blocks: int = 0
    repeats: int = 7
    warmup: int = 1


PROBLEMS = (
    BenchConfig(),
    BenchConfig(name="task network", tokens=80, mv_channels=8, s_channels=16, blocks=4),
)
QUICK = (BenchConfig(batch=2, tokens=32, repeats=2, warmup=1),)


def _build(config: BenchConfig, device: torch.device) -> tuple[torch.nn.Module, tuple]:
    """The module and its inputs (points in channel 0, as a task model feeds them)."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    c = config
    mv = torch.randn(c.batch, c.tokens, c.mv_channels, 16, generator=gen)
    mv[:, :, 0] = 0.0
    mv[:, :, 0] = embed_point(torch.randn(c.batch, c.tokens, 3, generator=gen))
    s = torch.randn(c.batch, c.tokens, c.s_channels, generator=gen)
    if c.blocks == 0:
        module: torch.nn.Module = GATrBlock(c.mv_channels, c.s_channels, c.num_heads)
    else:
        module = GATr(GATrConfig(c.mv_channels, c.mv_channels, c.s_channels, c.s_channels,
                                 c.mv_channels, c.s_channels, c.blocks, c.num_heads))
    return module.to(device), (mv.to(device), s.to(device))


def _step(module: torch.nn.Module, inputs: tuple, dense: bool,
          device: torch.device) -> tuple[float, torch.Tensor]:
    """Wall time of one forward + backward pass, and the multivector output."""
    module.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    with use_dense(dense):
        out_mv, out_s = module(*inputs)
        (out_mv.square().mean() + out_s.square().mean()).backward()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, out_mv.detach()


def run_bench(config: BenchConfig, device: torch.device) -> dict:
    """Time one problem both ways (alternating); best and median times and ratios."""
    module, inputs = _build(config, device)
    times: dict[str, list[float]] = {"fast": [], "dense": []}
    outputs = {}
    for i in range(config.warmup + config.repeats):
        for name in ("fast", "dense"):
            seconds, outputs[name] = _step(module, inputs, name == "dense", device)
            if i >= config.warmup:
                times[name].append(seconds)
    diff = (outputs["fast"] - outputs["dense"]).abs().max() / outputs["dense"].abs().max()
    fast, dense = min(times["fast"]), min(times["dense"])
    return {
        "problem": config.name, "config": asdict(config), "device": str(device),
        "threads": torch.get_num_threads(), "fast_seconds": fast, "dense_seconds": dense,
        "speedup": dense / fast,
        "speedup_median": statistics.median(times["dense"]) / statistics.median(times["fast"]),
        "fast_all": times["fast"], "dense_all": times["dense"],
        "max_relative_difference": float(diff),
    }


def thread_counts(device: torch.device) -> list[int]:
    """1 and 2 threads on a CPU with at least 2 cores (else 1); the device's own on GPUs."""
    if device.type != "cpu":
        return [torch.get_num_threads()]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [1, 2] if (cores or 1) >= 2 else [1]


def bench_ga(out: str | None = None, quick: bool = False, device: str | None = None) -> dict:
    """The fast-vs-dense benchmark of every problem at every thread count (with ``out`` also
    written as JSON). The headline ``speedup`` is the first problem's at one thread."""
    dev = resolve_device(device)
    problems = QUICK if quick else PROBLEMS
    default_threads = torch.get_num_threads()
    runs = []
    try:
        for config in problems:
            for threads in thread_counts(dev):
                torch.set_num_threads(threads)
                runs.append(run_bench(config, dev))
    finally:
        torch.set_num_threads(default_threads)
    result = dict(runs[0], runs=runs, device=str(dev), repeats=problems[0].repeats)
    if out is not None:
        write_json_atomic(out, result, indent=2)
    return result


def format_ga_bench(result: dict) -> str:
    """The benchmark's table for the terminal."""
    lines = [f"GATr forward+backward, fast path (grade-wise linear maps, sparse products) vs "
             f"dense reference (16x16 blocks, full tables), {result['device']}, best of "
             f"{result['repeats']}",
             "  problem                                          | threads | fast (s) | dense (s) "
             "| speed-up"]
    for run in result["runs"]:
        c = run["config"]
        what = (f"{run['problem']}: batch {c['batch']}, {c['tokens']} tokens, "
                f"{c['mv_channels']}/{c['s_channels']} ch, {c['blocks'] or 1} block(s)")
        lines.append(f"  {what:48s} | {run['threads']:7d} | {run['fast_seconds']:8.4f} | "
                     f"{run['dense_seconds']:9.4f} | {run['speedup']:6.2f}x")
    lines.append(f"  speed-up: {result['speedup']:.2f}x ({result['problem']}, "
                 f"{result['threads']} thread(s))")
    return "\n".join(lines)
