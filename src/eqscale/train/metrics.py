"""The run's metric log: ``metrics.jsonl`` (one JSON object per line) and optional TensorBoard.

Lines are appended and flushed as training goes. A resumed run first rewrites the log
(atomically) to the records up to its checkpoint's step, so a kill between a checkpoint and a
later log line never leaves duplicated or half-written records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eqscale.atomic import write_text_atomic


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Every complete record of a metrics file (a torn last line is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines():  # a damaged line is skipped
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


class MetricsLog:
    """Appends records to ``metrics.jsonl`` and, when TensorBoard is installed, to ``tb/``."""

    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self.enabled = enabled
        self._tb: Any = None
        if enabled:
            self._tb = _tensorboard_writer(Path(run_dir) / "tb")

    def truncate_after(self, step: int) -> None:
        """Keep only the records with ``step <= step`` (called when resuming)."""
        if not self.enabled:
            return
        kept = [r for r in read_metrics(self.path) if r.get("step", 0) <= step]
        write_text_atomic(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        try:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as exc:  # e.g. a full disk: name the file in the one-line error
            if exc.filename is None:
                exc.filename = str(self.path)
            raise
        if self._tb is not None:
            step = int(record.get("step", 0))
            kind = record.get("kind", "train")
            for key, value in record.items():
                numeric = isinstance(value, int | float) and not isinstance(value, bool)
                if key not in ("step", "kind") and numeric:
                    self._tb.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _tensorboard_writer(log_dir: Path) -> Any:
    """A TensorBoard ``SummaryWriter`` if TensorBoard is installed, else ``None``."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(log_dir))
