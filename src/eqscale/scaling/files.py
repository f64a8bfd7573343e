"""JSON-safe conversion and the scaling layer's atomic writes (built on :mod:`eqscale.atomic`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from eqscale import atomic
from eqscale.atomic import write_bytes_atomic

__all__ = ["to_json_safe", "write_bytes_atomic", "write_json_atomic"]


def to_json_safe(obj: Any) -> Any:
    """Numpy scalars to Python, non-finite floats to None, tuples to lists."""
    if isinstance(obj, dict):
        return {str(k): to_json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json_atomic(path: Path, data: Any) -> None:
    atomic.write_json_atomic(path, to_json_safe(data), indent=1, allow_nan=False)
