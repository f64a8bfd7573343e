"""Data generation and loading speed: generator vs bare PyBullet, 2 vs 1 workers, loader.

Same code as ``eqscale bench data``: prints trajectories per second with 1 and 2 workers, the
generator's overhead over a bare PyBullet loop stepping the same scenes (target <= 15 %), the
2-vs-1 worker speed-up (target >= 1.7x on an idle machine with 2+ cores) and loader samples per
second, all measured in one run; optionally writes them as JSON.

    python benchmarks/bench_data.py [--quick] [--out data.json]
"""

from __future__ import annotations

import argparse

from eqscale.data.bench import bench_data

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    parser.add_argument("--quick", action="store_true", help="smaller problem, for smoke tests")
    parser.add_argument("--device", default=None, help="move loaded batches to this device")
    args = parser.parse_args()
    bench_data(out=args.out, quick=args.quick, device=args.device)
