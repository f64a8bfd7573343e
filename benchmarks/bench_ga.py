"""GATr block benchmark, fast path vs dense reference (same as ``eqscale bench ga``).

Usage: python benchmarks/bench_ga.py [--quick] [--out results.json] [--device cpu]
"""

from __future__ import annotations

import sys

from eqscale.cli import main

if __name__ == "__main__":  # the arguments of `eqscale bench ga`
    sys.exit(main(["bench", "ga", *sys.argv[1:]]))
