"""Data generation and loading speed: generator vs bare PyBullet, 2 vs 1 workers, loader.

Same code as ``eqscale bench data``: prints trajectories per second with 1 and 2 workers, the
generator's overhead over a bare PyBullet loop stepping the same scenes (target <= 15 %), the
2-vs-1 worker speed-up (target >= 1.7x on an idle machine with 2+ cores) and loader samples per
second, all measured in one run; optionally writes them as JSON.

    python benchmarks/bench_data.py [--quick] [--out data.json]
"""

from __future__ import annotations

import sys

from eqscale.cli import main

if __name__ == "__main__":  # the arguments of `eqscale bench data`
    sys.exit(main(["bench", "data", *sys.argv[1:]]))
