"""JSON that every reader can parse: non-finite numbers become ``null``, with a note.

Python's ``json`` writes ``NaN`` and ``Infinity``, which are not JSON (``jq``, browsers and most
languages reject them). :func:`json_safe` replaces them by ``None`` and, for a dict, appends to
its ``notes`` list one line per replaced value (``"rollout_error was NaN; written as null"``),
so the loss of information is visible. Free of torch and numpy imports (duck-typed scalars).
"""

from __future__ import annotations

import math
from typing import Any


def _clean(obj: Any, path: str, found: list[str]) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v, f"{path}.{k}" if path else str(k), found) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v, f"{path}[{i}]", found) for i, v in enumerate(obj)]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()  # numpy or torch scalar
    if isinstance(obj, float) and not math.isfinite(obj):
        found.append(f"{path or 'value'} was {obj!r}; written as null")
        return None
    return obj


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by ``None``; a dict gets ``notes``."""
    found: list[str] = []
    clean = _clean(obj, "", found)
    if found and isinstance(clean, dict):
        notes = clean.get("notes")
        clean["notes"] = (list(notes) if isinstance(notes, list) else []) + found
    return clean
