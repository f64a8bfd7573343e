"""``eqscale report``: a self-contained HTML report and a Markdown twin from a run table.

The HTML embeds its figures as base64 PNG (one file to mail around); the Markdown links PNG
files written beside it. Both hold the conclusion, the figures and the coefficient table, and
``fits.json`` is written next to them. Every file is written atomically.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from eqscale.scaling.analysis import FITS_FORMAT, analyse
from eqscale.scaling.conclusion import conclusion
from eqscale.scaling.figures import LABELS, render_figures
from eqscale.scaling.files import write_bytes_atomic, write_json_atomic
from eqscale.scaling.learning_rates import lr_rows
from eqscale.scaling.runtable import RunTable, load_runs
from eqscale.scaling.summary import Row, coefficient_rows, fmt, fmt_interval

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222;
       padding: 0 1em; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { font-family: ui-monospace, monospace; }
tr.fail td { color: #999; }
figure { margin: 1.5em 0; } img { max-width: 100%; }
figcaption { font-size: 0.9em; color: #555; }
"""


def _owner(row: Row) -> str:
    return LABELS.get(row.model, row.model)


def _overview(result: dict, table: RunTable) -> list[str]:
    lines = []
    for model in result["models"]:
        t = table.select(model=model)
        n_c, n_d = len(t.select(kind="compute")), len(t.select(kind="data"))
        sizes = sorted(set(t.N.tolist()))
        size_text = f", N from {fmt(sizes[0])} to {fmt(sizes[-1])}" if sizes else ""
        lines.append(f"{LABELS.get(model, model)}: {n_c} compute-study runs, {n_d} data-study "
                     f"runs{size_text}")
    return lines


def render_html(result: dict, table: RunTable, figures: list[tuple[str, str, bytes]]) -> str:
    esc = html.escape
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             "<title>eqscale: does equivariance matter at scale?</title>",
             f"<style>{_CSS}</style></head><body>",
             "<h1>Does equivariance matter at scale?</h1>",
             f"<p>Run table <code>{esc(result['source'])}</code>; compute measured as "
             f"<code>{esc(result['compute_column'])}</code>.</p><ul>"]
    parts += [f"<li>{esc(line)}</li>" for line in _overview(result, table)]
    parts += [f"<li>{esc(note)}</li>" for note in result["notes"]]
    parts.append("</ul><h2>Conclusion</h2>")
    parts += [f"<p>{esc(p)}</p>" for p in conclusion(result)]
    parts.append("<h2>Figures</h2>")
    for name, title, png in figures:
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<figure id='{name}'><img alt='{esc(title)}' "
                     f"src='data:image/png;base64,{data}'><figcaption>{esc(title)}"
                     "</figcaption></figure>")
    rows = lr_rows(result)
    if rows:
        parts.append("<h2>Learning rates</h2><p>Each arm's rate was picked by the lowest "
                     "best-validation loss of the study's learning-rate stage (rates whose run "
                     "failed are not listed).</p><table><tr>"
                     "<th>arm</th><th>rate: validation loss</th><th>pick</th><th>note</th></tr>")
        parts += [f"<tr><td>{esc(a)}</td><td class='num'>{esc(g)}</td><td class='num'>{p}</td>"
                  f"<td>{esc(n)}</td></tr>" for a, g, p, n in rows]
        parts.append("</table>")
    parts.append("<h2>Fitted coefficients</h2><table><tr><th>model</th><th>law</th>"
                 "<th>parameter</th><th>value</th><th>95% bootstrap interval</th>"
                 "<th>note</th></tr>")
    for r in coefficient_rows(result):
        if r.value is None:
            parts.append(f"<tr class='fail'><td>{esc(_owner(r))}</td><td>{esc(r.law)}</td>"
                         f"<td></td><td>-</td><td></td><td>not fitted: {esc(r.note)}</td></tr>")
        else:
            parts.append(f"<tr><td>{esc(_owner(r))}</td><td>{esc(r.law)}</td>"
                         f"<td>{esc(r.param)}</td><td class='num'>{fmt(r.value)}</td>"
                         f"<td class='num'>{fmt_interval(r)}</td><td>{esc(r.note)}</td></tr>")
    parts.append("</table></body></html>\n")
    return "\n".join(parts)


def render_markdown(result: dict, table: RunTable,
                    figures: list[tuple[str, str, bytes]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["# Does equivariance matter at scale?", "",
             f"Run table `{result['source']}`; compute measured as `{result['compute_column']}`.",
             ""]
    lines += [f"- {line}" for line in _overview(result, table) + list(result["notes"])]
    lines += ["", "## Conclusion", ""]
    for p in conclusion(result):
        lines += [p, ""]
    lines += ["## Figures", ""]
    for name, title, _ in figures:
        lines += [f"![{title}]({name}.png)", "", f"*{title}*", ""]
    rows = lr_rows(result)
    if rows:
        lines += ["## Learning rates", "", "Each arm's rate was picked by the lowest "
                  "best-validation loss of the study's learning-rate stage (rates whose run failed "
                  "are not listed).", "",
                  "| arm | rate: validation loss | pick | note |", "|---|---|---|---|"]
        lines += [f"| {a} | {g} | {p} | {n} |" for a, g, p, n in rows]
        lines.append("")
    lines += ["## Fitted coefficients", "",
              "| model | law | parameter | value | 95% bootstrap interval | note |",
              "|---|---|---|---|---|---|"]
    for r in coefficient_rows(result):
        if r.value is None:
            lines.append(f"| {cell(_owner(r))} | {cell(r.law)} | | - | | "
                         f"not fitted: {cell(r.note)} |")
        else:
            lines.append(f"| {cell(_owner(r))} | {cell(r.law)} | {r.param} | {fmt(r.value)} | "
                         f"{fmt_interval(r)} | {cell(r.note)} |")
    return "\n".join(lines) + "\n"


def write_report(result: dict, table: RunTable, out_dir: Path) -> dict[str, Path]:
    """Write report.html, report.md, its PNG figures and fits.json into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = render_figures(result, table)
    for name, _, png in figures:
        write_bytes_atomic(out_dir / f"{name}.png", png)
    paths = {"html": out_dir / "report.html", "markdown": out_dir / "report.md",
             "fits": out_dir / "fits.json"}
    write_json_atomic(paths["fits"], result)
    write_bytes_atomic(paths["markdown"], render_markdown(result, table, figures).encode())
    write_bytes_atomic(paths["html"], render_html(result, table, figures).encode())
    return paths


def cached_fits(table: RunTable, n_bootstrap: int, seed: int) -> dict | None:
    """The ``fits.json`` that ``eqscale fit`` left beside the run table, if it was made from this
    table (same path, not older than it) with the same bootstrap count and seed; the analysis is
    deterministic, so reusing it gives the same report without refitting."""
    source = Path(table.source)
    path = source.parent / "fits.json"
    try:
        if path.stat().st_mtime < source.stat().st_mtime:
            return None
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = (cached.get("format") == FITS_FORMAT and cached.get("source") == table.source
            and cached.get("n_bootstrap") == n_bootstrap and cached.get("seed") == seed)
    return cached if same else None


def report_from_cli(runs: str, out: str | None = None, n_bootstrap: int = 200,
                    seed: int = 0, workers: int | None = None) -> dict[str, Path]:
    """``eqscale report``: fit everything (or reuse :func:`cached_fits`), then write the report
    (default: ``report/`` beside the run table)."""
    from eqscale.oserrors import ensure_writable_dir

    table = load_runs(runs)
    out_dir = Path(out) if out else Path(table.source).parent / "report"
    ensure_writable_dir(out_dir, "--out")  # refuse a bad --out before the fits, not after
    result = cached_fits(table, n_bootstrap, seed)
    if result is None:
        from eqscale.backends import free_cores

        result = analyse(table, n_bootstrap=n_bootstrap, seed=seed,
                         workers=workers or free_cores())
    else:
        print(f"using {Path(table.source).parent / 'fits.json'} (same table, bootstrap, seed)")
    paths = write_report(result, table, out_dir)
    for para in conclusion(result)[:5]:
        print(para)
    print(f"wrote {paths['html']} and {paths['markdown']}")
    return paths
