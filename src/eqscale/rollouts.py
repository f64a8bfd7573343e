"""A run's ``rollout.json``: what the model predicts, as object tracks (no torch).

Written by the final evaluation of a training run (and by ``eqscale evaluate`` on the run's own
test split) into the run directory; read by the report, which draws the true motion beside
each architecture's autoregressive rollout. Per tracked test trajectory, three tracks of every
real object's centroid (the mean of its real token-mesh vertices), each ``(F, K, 3)`` in metres:
``true`` (the data), ``predicted`` (frames 0 and 1 true, every later frame predicted from the
two before it, predictions fed back) and ``constant_velocity`` (the reference rolled out from
the same two frames). A prediction that stopped being finite is ``null`` from then on.

Layout (``format`` ``eqscale-rollout-1``)::

    {format, model, split, frame_rate, trajectories: [{index, gravity, true, predicted,
                                                       constant_velocity}]}
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from eqscale.atomic import write_json_atomic
from eqscale.errors import EqscaleError

ROLLOUT_FILE = "rollout.json"
ROLLOUT_FORMAT = "eqscale-rollout-1"
TRACKS = ("true", "predicted", "constant_velocity")
DECIMALS = 6  # micrometres: far below any error the report can show, and a small file


def _rounded(tracks: Any) -> Any:
    if isinstance(tracks, list | tuple):
        return [_rounded(t) for t in tracks]
    value = float(tracks)
    return round(value, DECIMALS) if math.isfinite(value) else None


def rollout_record(model: str, split: str, frame_rate: float | None,
                   trajectories: list[dict[str, Any]]) -> dict[str, Any]:
    """The file's content. ``trajectories``: dicts with ``index`` (in the split), ``gravity``
    and the three tracks as nested lists ``(F, K, 3)`` (non-finite values become null)."""
    out = []
    for t in trajectories:
        item = {"index": int(t["index"]), "gravity": [float(g) for g in t["gravity"]]}
        item.update({name: _rounded(t[name]) for name in TRACKS})
        out.append(item)
    return {"format": ROLLOUT_FORMAT, "model": model, "split": split,
            "frame_rate": None if frame_rate is None else float(frame_rate),
            "trajectories": out}


def write_rollout(path: str | Path, record: dict[str, Any]) -> Path:
    """Write ``record`` (:func:`rollout_record`) atomically; returns the path."""
    path = Path(path)
    write_json_atomic(path, record, indent=None, note_non_finite=False)
    return path


def _shape(track: Any) -> tuple[int, int] | None:
    """(frames, objects) of a well-formed (F, K, 3) nested list of numbers or nulls."""
    if not isinstance(track, list) or not track:
        return None
    objects = {len(frame) if isinstance(frame, list) else -1 for frame in track}
    if len(objects) != 1 or objects == {-1}:
        return None
    for frame in track:
        for point in frame:
            if not (isinstance(point, list) and len(point) == 3 and all(
                    v is None or isinstance(v, int | float) for v in point)):
                return None
    return len(track), objects.pop()


def read_rollout(path: str | Path) -> dict[str, Any]:
    """A validated ``rollout.json``: ``FileNotFoundError`` when absent, :class:`EqscaleError`
    naming the problem when it is not one this version writes."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise EqscaleError(f"{path} is unreadable ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != ROLLOUT_FORMAT:
        raise EqscaleError(f"{path} is not an {ROLLOUT_FORMAT} file")
    trajs = record.get("trajectories")
    if not isinstance(trajs, list) or not trajs:
        raise EqscaleError(f"{path} holds no trajectories")
    for i, t in enumerate(trajs):
        shapes = {_shape(t.get(name)) if isinstance(t, dict) else None for name in TRACKS}
        if len(shapes) != 1 or None in shapes:
            raise EqscaleError(f"{path}: trajectory {i} does not hold three (frames, objects, "
                               "3) tracks of equal shape")
        if not (isinstance(t.get("index"), int) and isinstance(t.get("gravity"), list)
                and len(t["gravity"]) == 3):
            raise EqscaleError(f"{path}: trajectory {i} lacks its index or gravity")
    return record
