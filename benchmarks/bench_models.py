"""Training-step speed of both task models at several sizes vs the measured matmul peak.

Same code as ``eqscale bench models``: prints a table (step time, executed FLOP/s, utilisation =
achieved / measured peak, all from one run) and optionally writes JSON. On a CUDA device it runs
in bf16 autocast at GPU-sized batches and model sizes.

    python benchmarks/bench_models.py [--quick] [--device cuda] [--out models.json]
"""

from __future__ import annotations

import sys

from eqscale.cli import main

if __name__ == "__main__":  # the arguments of `eqscale bench models`
    sys.exit(main(["bench", "models", *sys.argv[1:]]))
