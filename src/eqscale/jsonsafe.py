"""JSON that every reader can parse: non-finite numbers become ``null``, with a note.

Python's ``json`` writes ``NaN`` and ``Infinity``, which are not JSON (``jq``, browsers and most
languages reject them). :func:`json_safe` replaces them by ``None`` and, for a dict, appends to
its ``notes`` list one line per replaced value (``"rollout_error was NaN; written as null"``),
so the loss of information is visible. Free of torch and numpy imports (duck-typed scalars).
"""

from __future__ import annotations

import math
from typing import Any


def _key(key: Any) -> Any:
    return key.item() if hasattr(key, "item") and callable(key.item) else key  # numpy scalar


def _clean(obj: Any, path: str, found: list[str]) -> Any:
    if isinstance(obj, dict):
        return {_key(k): _clean(v, f"{path}.{k}" if path else str(k), found)
                for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v, f"{path}[{i}]", found) for i, v in enumerate(obj)]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()  # numpy or torch scalar
    if isinstance(obj, float) and not math.isfinite(obj):
        found.append(f"{path or 'value'} was {obj!r}; written as null")
        return None
    return obj


def json_safe(obj: Any, note: bool = True) -> Any:
    """``obj`` with every non-finite float replaced by ``None``; with ``note``, a dict gets
    ``notes`` saying what was replaced."""
    found: list[str] = []
    clean = _clean(obj, "", found)
    if note and found and isinstance(clean, dict):
        notes = clean.get("notes")
        clean["notes"] = (list(notes) if isinstance(notes, list) else []) + found
    return clean
