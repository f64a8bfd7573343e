"""The table of fitted coefficients with intervals, shared by ``eqscale fit`` and the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (label, path inside one model's result, params in display order)
MODEL_LAWS = (
    ("loss vs compute L = A C^k", ("frontier", "power_law"), ("A", "exponent")),
    ("loss vs compute L = E + A C^k", ("frontier", "offset_law"), ("E", "A", "exponent")),
    ("loss vs wall-clock L = A s^k", ("wall_frontier", "power_law"), ("A", "exponent")),
    ("IsoFLOP N_opt = G C^a", ("isoflop", "N_opt"), ("exponent",)),
    ("IsoFLOP D_opt = G C^b", ("isoflop", "D_opt"), ("exponent",)),
    ("L(N, D) = E + A N^-alpha + B D^-beta", ("parametric", "fit"),
     ("E", "A", "B", "alpha", "beta")),
    ("allocation on L(N, D): N_opt ~ C^a, D_opt ~ C^b", ("parametric", "allocation"),
     ("a", "b")),
    ("cost model C = k N^p D", ("cost_model",), ("k", "p")),
    ("data scaling L = A n^k (no augmentation)", ("data", "no_augment", "power_law"),
     ("A", "exponent")),
    ("data scaling L = E + A n^k (no augmentation)", ("data", "no_augment", "offset_law"),
     ("E", "A", "exponent")),
    ("data scaling L = A n^k (augmentation)", ("data", "augment", "power_law"),
     ("A", "exponent")),
    ("data scaling L = E + A n^k (augmentation)", ("data", "augment", "offset_law"),
     ("E", "A", "exponent")),
)
COMPARISON_LAWS = (
    ("loss ratio baseline / equivariant (geometric mean over budgets)", ("mean_ratio",),
     ("ratio",)),
    ("loss ratio baseline / equivariant at equal wall-clock time", ("wall_ratio",), ("ratio",)),
    ("loss ratio baseline / equivariant at equal training data (geometric mean over sizes)",
     ("data_ratio",), ("ratio",)),
    ("loss ratio augmented baseline / equivariant at equal training data", ("augment_ratio",),
     ("ratio",)),
    ("compute exponent difference (equivariant - baseline)", ("frontier_exponent",),
     ("difference",)),
    ("allocation exponent a difference (equivariant - baseline)", ("allocation_a",),
     ("difference",)),
    ("wall-clock exponent difference (equivariant - baseline)", ("wall_exponent",),
     ("difference",)),
)


@dataclass(frozen=True)
class Row:
    """One coefficient: value and 95% bootstrap interval, or the reason it could not be fit."""

    model: str
    law: str
    param: str
    value: float | None
    lo: float | None = None
    hi: float | None = None
    note: str = ""


def _get(tree: dict, path: tuple[str, ...]) -> dict | None:
    node: Any = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def _rows_of(owner: str, tree: dict, laws) -> list[Row]:
    rows = []
    for label, path, params in laws:
        node = _get(tree, path)
        if node is None:
            continue  # that law does not apply to this table (e.g. no augmented runs)
        if not node.get("ok"):
            rows.append(Row(owner, label, "", None, note=node.get("reason", "not fitted")))
            continue
        base_note = f"bootstrap p {fmt_p(node)}" if "p_value" in node else ""
        for name in params:
            lo, hi = node.get("ci", {}).get(name, (None, None))
            note = base_note
            why = node.get("unidentified", {}).get(name)
            if why:
                note = "; ".join(n for n in (note, f"not identified at this scale: {why}") if n)
            rows.append(Row(owner, label, name, node["params"].get(name), lo, hi, note))
    return rows


def coefficient_rows(result: dict) -> list[Row]:
    """Every model's laws, then the comparison, in a fixed order."""
    rows: list[Row] = []
    for model, tree in result.get("models", {}).items():
        rows += _rows_of(model, tree, MODEL_LAWS)
    comparison = result.get("comparison", {})
    if comparison.get("ok", True):
        rows += _rows_of("comparison", comparison, COMPARISON_LAWS)
    else:
        rows.append(Row("comparison", "equivariant vs baseline", "", None,
                        note=comparison.get("reason", "")))
    return rows


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"


def fmt_p(node: dict) -> str:
    """A bootstrap p-value as '= 0.12', or '< 1/n' when no resample crossed zero."""
    p, n = node["p_value"], max(1, node.get("bootstrap_total", 1))
    return f"< {2.0 / n:.2g}" if p == 0 else f"= {p:.2g}"


def fmt_interval(row: Row) -> str:
    return "" if row.lo is None else f"[{fmt(row.lo)}, {fmt(row.hi)}]"


def summary_table(result: dict) -> str:
    """Plain-text table for the terminal."""
    lines = [f"{result.get('n_runs', 0)} finished runs from {result.get('source', '')}; "
             f"{result.get('n_bootstrap', 0)} bootstrap resamples; 95% intervals"]
    lines += [f"note: {n}" for n in result.get("notes", [])]
    table = [("model", "law", "param", "value", "95% interval")]
    for r in coefficient_rows(result):
        if r.value is None:
            table.append((r.model, r.law, "", "-", f"not fitted: {r.note}"))
        else:
            table.append((r.model, r.law, r.param, fmt(r.value),
                          f"{fmt_interval(r)} {r.note}".strip()))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        lines.append("  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[4]]).rstrip())
    return "\n".join(lines)
