"""GATr block benchmark, fast path vs dense reference (same as ``eqscale bench ga``).

Usage: python benchmarks/bench_ga.py [--quick] [--out results.json] [--device cpu]
"""

from __future__ import annotations

import argparse

from eqscale.nn.bench import bench_ga

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="smaller problem, for smoke tests")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    bench_ga(out=args.out, quick=args.quick, device=args.device)
