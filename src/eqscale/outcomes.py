"""What became of one task of a backend (:mod:`eqscale.backends`, :mod:`eqscale.slurm`)."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """The result of task ``index``: ``value`` on success, else ``error`` (one line),
    ``error_type``, the exception's class name (e.g. ``StorageError``), and ``traceback``, the
    whole story (a pool or Ray worker's own traceback included) for the task's error record."""

    index: int
    value: Any = None
    error: str | None = None
    error_type: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def error_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def failed_outcome(index: int, exc: BaseException) -> Outcome:
    story = "".join(traceback.format_exception(exc))  # a worker's traceback is its cause
    return Outcome(index, error=error_line(exc), error_type=type(exc).__name__,
                   traceback=story)
