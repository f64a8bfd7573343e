"""Training-step speed of both task models at several sizes vs the measured matmul peak.

Same code as ``eqscale bench models``: prints a table (step time, executed FLOP/s, utilisation =
achieved / measured peak, all from one run) and optionally writes JSON. On a CUDA device it runs
in bf16 autocast at GPU-sized batches and model sizes.

    python benchmarks/bench_models.py [--quick] [--device cuda] [--out models.json]
"""

from __future__ import annotations

import argparse

from eqscale.models.bench import bench_models

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="smaller problem, for smoke tests")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if any)")
    args = parser.parse_args()
    bench_models(out=args.out, quick=args.quick, device=args.device)
