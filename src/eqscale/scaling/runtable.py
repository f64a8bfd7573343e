"""The run table (``runs.csv``, docs/interfaces.md "study -> scaling") as numpy columns.

It is the only input of the fits. Failed runs and finished runs without a finite loss are left
out (and counted); a missing column, a torn or malformed row, a duplicated run id or a file that
is not UTF-8 text is an :class:`EqscaleError` naming it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from eqscale.errors import EqscaleError
from eqscale.oserrors import storage_error

EQUIVARIANT = "gatr"
BASELINE = "transformer"

REQUIRED_COLUMNS = (
    "run_id", "model", "kind", "status", "N", "D", "budget", "flops_nominal", "wall_seconds",
    "test_loss", "augment", "train_subset",
)
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


@dataclass(frozen=True)
class RunTable:
    """Finished runs, one entry per run in every array (shape (R,)).

    ``flops`` is the compute a run spent in the table's budget convention (``compute_column``);
    ``loss`` is its test loss; ``train_subset`` is the training-set size in trajectories (NaN
    for the full set); ``cv_loss`` and ``rigid_cv_loss`` are the constant-velocity references'
    losses on the same test samples, ``lr`` the peak learning rate and ``val_loss`` the best
    validation loss (NaN where a table predates those columns).
    """

    run_id: np.ndarray
    model: np.ndarray
    kind: np.ndarray
    augment: np.ndarray
    N: np.ndarray
    D: np.ndarray
    budget: np.ndarray
    flops: np.ndarray
    wall_seconds: np.ndarray
    loss: np.ndarray
    train_subset: np.ndarray
    cv_loss: np.ndarray
    rigid_cv_loss: np.ndarray
    lr: np.ndarray
    val_loss: np.ndarray
    compute_column: str = "flops_nominal"
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return int(self.run_id.size)

    def take(self, index: np.ndarray) -> RunTable:
        """Rows ``index`` (a boolean mask or integer indices, repeats allowed for bootstraps)."""
        arrays = {f.name: getattr(self, f.name)[index] for f in fields(self)
                  if isinstance(getattr(self, f.name), np.ndarray)}
        return RunTable(**arrays, compute_column=self.compute_column, source=self.source,
                        notes=self.notes)

    def select(self, model: str | None = None, kind: str | None = None,
               augment: bool | None = None) -> RunTable:
        mask = np.ones(len(self), dtype=bool)
        if model is not None:
            mask &= self.model == model
        if kind is not None:
            mask &= self.kind == kind
        if augment is not None:
            mask &= self.augment == augment
        return self.take(mask)

    @property
    def models(self) -> list[str]:
        """Models present, equivariant first, then baseline, then any others sorted."""
        present = set(self.model.tolist())
        order = [m for m in (EQUIVARIANT, BASELINE) if m in present]
        return order + sorted(present - set(order))


def _parse_float(value: str | None) -> float:
    if value is None or value.strip() == "":
        return float("nan")
    try:
        return float(value)
    except ValueError:
        return float("nan")


def _parse_bool(value: str | None, where: str) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise EqscaleError(f"{where}: augment must be true or false, got {value!r}")


def resolve_runs_path(runs: str | Path) -> Path:
    """A CSV path, or a study directory holding ``runs.csv``."""
    path = Path(runs)
    if path.is_dir():
        path = path / "runs.csv"
    if not path.is_file():
        raise EqscaleError(f"run table not found: {path}")
    return path


def _read_text(path: Path) -> str:
    """The table's text: UTF-8 without NUL bytes, else a one-line error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise storage_error(exc, path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EqscaleError(f"run table {path} is not UTF-8 text (byte {data[exc.start]:#04x} at "
                           f"offset {exc.start}); give the runs.csv a sweep wrote") from None
    if "\x00" in text:
        raise EqscaleError(f"run table {path} holds NUL bytes: not a text CSV file")
    return text


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows; refuses torn or malformed rows and duplicated run ids, which would
    otherwise enter the fits as wrong numbers or as extra weight."""
    text = _read_text(path)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise EqscaleError(f"run table {path} lacks column(s): {', '.join(missing)}")
        rows = list(reader)
    except csv.Error as exc:
        raise EqscaleError(f"run table {path} is not a valid CSV ({exc})") from None
    for i, r in enumerate(rows):
        if None in r or any(v is None for v in r.values()):
            fields = len(header) + len(r.get(None) or []) - sum(v is None for v in r.values())
            raise EqscaleError(f"run table {path} row {i + 2} has {fields} fields but the header "
                               f"has {len(header)}: the row is torn or malformed; rerun `eqscale "
                               "sweep run` to collect the table again, or fix the row")
    if rows and not text.endswith(("\n", "\r")):
        raise EqscaleError(f"run table {path}: its last row does not end with a line break, so "
                           "it was cut while being written (torn); rerun `eqscale sweep run` to "
                           "collect the table again, or end the row if it is complete")
    seen: dict[str, int] = {}
    for i, r in enumerate(rows):
        rid = (r.get("run_id") or "").strip()
        if rid and rid in seen:
            raise EqscaleError(f"run table {path}: run id {rid!r} appears twice (rows "
                               f"{seen[rid] + 2} and {i + 2}); each run must be listed once: "
                               "remove the duplicates")
        seen[rid] = i
    return header, rows


def load_runs(runs: str | Path) -> RunTable:
    """Read a run table; keep finished runs with finite N, D, compute and loss."""
    path = resolve_runs_path(runs)
    header, rows = _read_rows(path)
    conventions = {(r.get("budget_convention") or "nominal").strip() or "nominal" for r in rows}
    compute_column = "flops_executed" if conventions == {"executed"} else "flops_nominal"
    if compute_column not in header:
        raise EqscaleError(f"run table {path} lacks column(s): {compute_column}")

    keep, n_failed, n_bad = [], 0, 0
    for i, r in enumerate(rows):
        if (r.get("status") or "").strip() != "finished":
            n_failed += 1
            continue
        nums = [_parse_float(r[c]) for c in ("N", "D", compute_column, "test_loss")]
        if not all(np.isfinite(v) and v > 0 for v in nums):
            n_bad += 1
            continue
        keep.append((i, r))
    notes = []
    if n_failed:
        notes.append(f"{n_failed} run(s) not finished were ignored")
    if n_bad:
        notes.append(f"{n_bad} finished run(s) without positive finite N, D, FLOPs or loss "
                     "were ignored")

    def col(name, parse=_parse_float, dtype=float):
        return np.array([parse(r.get(name)) for _, r in keep], dtype=dtype)

    return RunTable(
        run_id=np.array([r["run_id"] for _, r in keep], dtype=object),
        model=np.array([r["model"].strip() for _, r in keep], dtype=object),
        kind=np.array([r["kind"].strip() for _, r in keep], dtype=object),
        augment=np.array([_parse_bool(r["augment"], f"{path} row {i + 2}") for i, r in keep],
                         dtype=bool),
        N=col("N"), D=col("D"), budget=col("budget"), flops=col(compute_column),
        wall_seconds=col("wall_seconds"), loss=col("test_loss"),
        train_subset=col("train_subset"), cv_loss=col("constant_velocity_loss"),
        rigid_cv_loss=col("rigid_constant_velocity_loss"),
        lr=col("lr"), val_loss=col("best_val_loss"),
        compute_column=compute_column, source=str(path), notes=tuple(notes),
    )


def read_columns(source: str | Path, run_ids: list[str],
                 columns: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Raw cells of ``columns`` for ``run_ids`` from the table at ``source`` (a column the
    table lacks reads as empty): for the report's per-run extras, such as the JSON lists of
    ``rollout_error_per_horizon``, which the fits do not use."""
    _, rows = _read_rows(Path(source))
    wanted = set(run_ids)
    return {r["run_id"]: {c: (r.get(c) or "") for c in columns}
            for r in rows if r.get("run_id") in wanted}
