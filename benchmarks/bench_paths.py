"""Which formulation of a GATr kernel is fastest at which shape: the crossovers behind the
paths that ``eqscale.ga`` and ``eqscale.nn`` choose (docs/ga.md, "Paths by shape").

Forward + backward, float32, one process, the candidates alternating, best of ``--repeats``;
each line prints the first candidate's time and every other's ratio to it (> 1: slower).
The candidates are checked against each other first.

- products on component-major operands ``(16, N, C)`` (``M = N C`` multivectors): the sparse
  path (term gathers) vs the table path (the ``(16, 256)`` table times the operands' outer
  product), which the products use up to ``TABLE_PATH_MAX`` multivectors;
- equivariant linear maps ``C_in -> C_out`` on N tokens: the grade-wise batched matmuls in use
  vs the grade-grouped form (one matrix product per grade over its contiguous components) and
  vs one dense ``(16 C_in, 16 C_out)`` matrix product in the token-major layout (layout changes
  included).

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_paths.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import torch

from eqscale.ga import tables
from eqscale.ga.products import TABLE_PATH_MAX, sparse_bilinear, table_bilinear
from eqscale.nn.linear import basis_maps, equi_linear_component_major

PRODUCT_SHAPES = ((1, 80), (1, 320), (8, 80), (8, 128), (8, 192), (8, 256), (8, 384), (8, 640),
                  (16, 2048))
LINEAR_SHAPES = ((640, 4, 4), (640, 4, 12), (640, 4, 16), (640, 8, 4), (640, 8, 8), (640, 8, 32),
                 (640, 16, 16), (2048, 16, 16), (2048, 32, 32))


def grade_grouped_linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x (16, N, C_in)``, ``weight (C_out, C_in, 9)`` -> ``(16, N, C_out)``: one matrix
    product per grade slice and one per e0 map, on contiguous component ranges."""
    w = weight.permute(2, 1, 0)  # (9, C_in, C_out)
    parts = [x[sl].reshape(-1, x.shape[-1]) @ w[k] for k, sl in enumerate(tables.GRADE_SLICES)]
    out = torch.cat(parts).view(16, x.shape[1], -1)
    shifted = []
    for k, src in enumerate(tables.E0_FREE_SLICES):  # e0 e_src: the next grade's e0 blades
        shifted.append(x[src].reshape(-1, x.shape[-1]) @ w[5 + k])
    e0_part = torch.cat(shifted).view(8, x.shape[1], -1)
    dst = torch.tensor([tables.INDEX[tables.blade_product((0,), tables.BLADES[i])[1]]
                        for i in tables.E0_FREE])
    return out.index_add(0, dst, e0_part)


def dense_token_major_linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The same map as one ``(N, 16 C_in) x (16 C_in, 16 C_out)`` product in the token-major
    layout, the layout changes to and from component-major included."""
    full = torch.einsum("oib,bxy->iyox", weight, basis_maps(x.device, x.dtype))
    c_in, c_out = weight.shape[1], weight.shape[0]
    tokens = x.permute(1, 2, 0).reshape(x.shape[1], 16 * c_in)
    out = tokens @ full.reshape(16 * c_in, c_out * 16)
    return out.view(x.shape[1], c_out, 16).permute(2, 0, 1).contiguous()


def best_seconds(fns: dict[str, Callable[[], torch.Tensor]], inputs: list[torch.Tensor],
                 repeats: int) -> dict[str, float]:
    """Best forward + backward time of each function, the functions alternating."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(repeats + 1):
        for name, fn in fns.items():
            for t in inputs:
                t.grad = None
            start = time.perf_counter()
            fn().square().sum().backward()
            if i:  # the first round warms up
                times[name].append(time.perf_counter() - start)
    return {name: min(ts) for name, ts in times.items()}


def check_equal(fns: dict[str, Callable[[], torch.Tensor]]) -> None:
    """Every alternative gives the first function's values (float32 tolerance)."""
    reference, *others = (fn().detach() for fn in fns.values())
    for name, out in zip(list(fns)[1:], others):
        scale = reference.abs().max().clamp_min(1e-12)
        if (out - reference).abs().max() > 1e-4 * scale:
            raise AssertionError(f"{name} disagrees with the path in use")


def report(label: str, seconds: dict[str, float]) -> None:
    first, *others = seconds
    ratios = ", ".join(f"{name} {seconds[name] / seconds[first]:.2f}x" for name in others)
    print(f"  {label:28s} {first} {1e3 * seconds[first]:8.3f} ms | {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), forward + backward, "
          f"best of {args.repeats}; ratios: alternative time / time of the first path")
    for name in ("geometric", "regressive"):
        print(f"{name} product on (16, N, C), table path used up to M = {TABLE_PATH_MAX}:")
        for c, n in PRODUCT_SHAPES:
            u, v = (torch.randn(16, n, c, generator=gen, requires_grad=True) for _ in range(2))
            fns = {"sparse": partial(sparse_bilinear, name, u, v),
                   "table": partial(table_bilinear, name, u, v)}
            check_equal(fns)
            report(f"N {n}, C {c} (M {n * c})", best_seconds(fns, [u, v], args.repeats))
    print("equivariant linear map C_in -> C_out on (16, N, C_in):")
    for n, c_in, c_out in LINEAR_SHAPES:
        x = torch.randn(16, n, c_in, generator=gen, requires_grad=True)
        w = torch.randn(c_out, c_in, 9, generator=gen, requires_grad=True)
        fns = {"grade-wise bmm": partial(equi_linear_component_major, x, w),
               "grade-grouped mm": partial(grade_grouped_linear, x, w),
               "dense token-major": partial(dense_token_major_linear, x, w)}
        check_equal(fns)
        report(f"N {n}, C {c_in} -> {c_out}", best_seconds(fns, [x, w], args.repeats))


if __name__ == "__main__":
    main()
