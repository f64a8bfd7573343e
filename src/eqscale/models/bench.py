"""``eqscale bench models``: training-step speed of both task models against the machine's peak.

One run measures, on the same random batch: the forward + backward time of each architecture at
several sizes, the executed FLOP/s this implies (from :func:`flops_per_sample`), and the
machine's dense matrix-multiply peak, so the printed utilisation (achieved / peak) means the same
on any machine. On CUDA the step and the peak run in bf16 autocast (as training does), on CPU
in float32.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import Tensor

from eqscale.atomic import write_json_atomic
from eqscale.devices import resolve_device
from eqscale.models.flops import flops_per_sample
from eqscale.models.loss import task_loss
from eqscale.models.registry import parameter_count
from eqscale.models.rigidity import apply_motion


def benchmark_batch(batch_size: int, objects: int, faces: int, seed: int = 0,
                    device: torch.device | str = "cpu") -> dict[str, Tensor]:
    """A random batch in the docs/interfaces.md format (no padding): each object is a random
    cloud of ``faces`` vertices near a random centre, moved by a small translation per frame."""
    g = torch.Generator().manual_seed(seed)
    b, k, p = batch_size, objects, faces
    v = max(p, 4)
    centre = torch.rand(b, k, 1, 3, generator=g) * 10 - 5
    local = torch.randn(b, k, v, 3, generator=g) * 0.5
    step = torch.randn(b, k, 1, 3, generator=g) * 0.3
    verts = [centre + local + i * step for i in range(3)]
    face_index = torch.stack(
        [torch.randperm(v, generator=g)[:3] for _ in range(b * k * p)]
    ).reshape(b, k, p, 3)
    gather = face_index.reshape(b, k, p * 3)[..., None].expand(b, k, p * 3, 3)
    faces_of = [torch.gather(x, 2, gather).reshape(b, k, p, 3, 3) for x in verts]
    batch = {
        "verts_prev": verts[0], "verts_t": verts[1], "verts_next": verts[2],
        "vert_mask": torch.ones(b, k, v, dtype=torch.bool), "face_index": face_index,
        "faces_prev": faces_of[0], "faces_t": faces_of[1],
        "face_mask": torch.ones(b, k, p, dtype=torch.bool),
        "object_mask": torch.ones(b, k, dtype=torch.bool),
        "object_scalars": torch.rand(b, k, 4, generator=g) + 0.5,
        "floor": torch.tensor([0.0, 0.0, 1.0, 0.0]).expand(b, 4).clone(),
        "gravity": torch.tensor([0.0, 0.0, -10.0]).expand(b, 3).clone(),
    }
    return {key: x.to(device) for key, x in batch.items()}


def _timed(fn: Callable[[], object], device: torch.device, warmup: int, repeats: int) -> float:
    """Best wall seconds of ``fn`` over ``repeats`` calls after ``warmup`` (CUDA synchronised).

    The minimum, not the median: on a shared machine other load only ever adds time.
    """
    times = []
    for i in range(warmup + repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak(device: torch.device, n: int, repeats: int) -> float:
    """Measured FLOP/s of an n x n x n matrix product (bf16 on CUDA, float32 on CPU)."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device, dtype)
    b = torch.randn(n, n, generator=g).to(device, dtype)
    seconds = _timed(lambda: a @ b, device, warmup=2, repeats=repeats)
    return 2 * n**3 / seconds


def step_seconds(model: torch.nn.Module, batch: dict[str, Tensor], device: torch.device,
                 repeats: int) -> float:
    """Best seconds of one forward + backward of the task loss (no optimiser step)."""

    def step() -> None:
        model.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = task_loss(apply_motion(model(batch), batch["verts_t"]), batch)
        loss.backward()

    return _timed(step, device, warmup=2, repeats=repeats)


def run_benchmark(sizes: dict[str, tuple[int, ...]], batch_size: int, objects: int,
                  faces: int, repeats: int, peak_n: int, device: torch.device,
                  compile: bool = False) -> dict:
    """Measure every (arch, size) on one batch; returns the JSON-ready result. With
    ``compile``, each model is also timed under ``torch.compile`` (its first step, which
    compiles, is recorded as ``compile_seconds``)."""
    from eqscale.models import build_model
    from eqscale.train.compilation import compiled

    batch = benchmark_batch(batch_size, objects, faces, device=device)
    peak = matmul_peak(device, peak_n, repeats)
    rows = []
    for arch, arch_sizes in sizes.items():
        for size in arch_sizes:
            torch.manual_seed(0)
            model = build_model(arch, size, faces).to(device)
            seconds = step_seconds(model, batch, device, repeats)
            cost = flops_per_sample(arch, size, objects, faces)
            per_step = cost.executed * batch_size
            row = {
                "arch": arch, "size": size, "params": parameter_count(arch, size),
                "step_seconds": seconds,
                "flops_executed_per_step": per_step,
                "flops_nominal_per_step": cost.nominal * batch_size,
                "executed_flops_per_second": per_step / seconds,
                "utilisation": per_step / seconds / peak,
            }
            if compile:
                fast = compiled(model)
                start = time.perf_counter()
                step_seconds(fast, batch, device, repeats=1)  # compiles (or loads the cache)
                row["compile_seconds"] = time.perf_counter() - start
                row["step_seconds_compiled"] = step_seconds(fast, batch, device, repeats)
                row["utilisation_compiled"] = per_step / row["step_seconds_compiled"] / peak
            rows.append(row)
    return {
        "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else f"cpu ({torch.get_num_threads()} threads)"),
        "dtype": "bf16 autocast" if device.type == "cuda" else "float32",
        "torch": torch.__version__,
        "batch": {"scenes": batch_size, "objects": objects, "faces_per_object": faces},
        "matmul_peak_flops_per_second": peak, "matmul_n": peak_n, "rows": rows,
    }


def format_table(result: dict) -> str:
    """The result as a Markdown table with the peak and the batch in the heading."""
    b = result["batch"]
    compiled = bool(result["rows"]) and "step_seconds_compiled" in result["rows"][0]
    lines = [
        f"device {result['device_name']}, {result['dtype']}, batch {b['scenes']} scenes x "
        f"{b['objects']} objects x {b['faces_per_object']} faces; matmul peak "
        f"{result['matmul_peak_flops_per_second'] / 1e9:.1f} GFLOP/s (n={result['matmul_n']})",
        "",
        "| model | size | params | step ms | GFLOP/step (exec) | GFLOP/s (exec) | utilisation |"
        + (" compiled step ms | utilisation compiled | compile s |" if compiled else ""),
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if compiled else ""),
    ]
    for r in result["rows"]:
        line = (f"| {r['arch']} | {r['size']} | {r['params']:,} | {1e3 * r['step_seconds']:.1f} | "
                f"{r['flops_executed_per_step'] / 1e9:.3f} | "
                f"{r['executed_flops_per_second'] / 1e9:.2f} | {100 * r['utilisation']:.1f}% |")
        if compiled:
            line += (f" {1e3 * r['step_seconds_compiled']:.1f} | "
                     f"{100 * r['utilisation_compiled']:.1f}% | {r['compile_seconds']:.0f} |")
        lines.append(line)
    return "\n".join(lines)


def bench_models(out: str | None = None, quick: bool = False, device: str | None = None,
                 compile: bool | None = None) -> dict:
    """``eqscale bench models``: the measured rows (:func:`format_table` shows them),
    optionally also written as JSON to ``out``.

    ``compile`` adds compiled step times and utilisation beside the eager ones (default: on
    CUDA, where training compiles by default; on CPU only when asked, it takes minutes)."""
    dev = resolve_device(device)
    if quick:
        sizes = {"transformer": (0, 1), "gatr": (0, 1)}
        config = {"batch_size": 4, "objects": 10, "faces": 8, "repeats": 3, "peak_n": 256}
    elif dev.type == "cuda":
        sizes = {"transformer": (2, 4, 6), "gatr": (2, 4, 6)}
        config = {"batch_size": 32, "objects": 10, "faces": 32, "repeats": 10, "peak_n": 8192}
    else:
        sizes = {"transformer": (0, 1, 2, 3), "gatr": (0, 1, 2, 3)}
        config = {"batch_size": 8, "objects": 10, "faces": 8, "repeats": 5, "peak_n": 1024}
    result = run_benchmark(sizes, device=dev, compile=dev.type == "cuda" if compile is None
                           else compile, **config)
    if out is not None:
        write_json_atomic(out, result, indent=2)
    return result
