"""``eqscale report``: a self-contained HTML report and a Markdown twin from a run table.

The HTML embeds its figures as base64 PNG (one file to mail around); the Markdown links PNG
files written beside it. Both open with the verdict table (:mod:`eqscale.scaling.verdict`: one
row per question of the study, its answer, the number that decides it and a link to its
figure), then the detailed conclusion, the figures (the rollout picture among them) and the
coefficient table; ``fits.json`` is written next to them. Every file is written atomically.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

from eqscale.atomic import write_bytes_atomic, write_json_atomic
from eqscale.models.registry import display_name
from eqscale.scaling.analysis import FITS_FORMAT, analyse
from eqscale.scaling.conclusion import conclusion
from eqscale.scaling.figures import Rendered, render_figures
from eqscale.scaling.learning_rates import lr_rows
from eqscale.scaling.runtable import RunTable, load_runs
from eqscale.scaling.summary import Row, coefficient_rows, fmt, fmt_interval
from eqscale.scaling.verdict import CONTRADICTED, SUPPORTED, Verdict, verdicts

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222;
       padding: 0 1em; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { font-family: ui-monospace, monospace; }
tr.fail td { color: #999; }
figure { margin: 1.5em 0; } img { max-width: 100%; }
figcaption { font-size: 0.9em; color: #555; }
table.verdict { font-size: 0.92em; margin: 1em 0 0.4em; }
table.verdict th { background: #f4f4f4; } table.verdict th.question { vertical-align: top; }
td.decide { font-variant-numeric: tabular-nums; } td.link { white-space: nowrap; }
td.answer { white-space: nowrap; } td.answer span { white-space: normal; font-size: 0.9em; }
td.supported { background: #e2f3e5; } td.contradicted { background: #fbe3df; }
td.open { background: #f2f2f2; }
p.legend, p.note { font-size: 0.85em; color: #555; }
"""


def _answer_class(v: Verdict) -> str:
    return {SUPPORTED: "supported", CONTRADICTED: "contradicted"}.get(v.answer, "open")


def _verdict_legend(result: dict) -> str:
    eq, base = display_name(result["equivariant"]), display_name(result["baseline"])
    return (f"Each claim of the reference study (Brehmer et al., arXiv 2410.23179) is answered "
            f"from one number of this table with its 95% run-level bootstrap interval in "
            f"brackets. A loss ratio is the {base}'s over {eq}'s (above 1: {eq} is better): "
            f"supported when the whole interval lies above 1, contradicted when below, not "
            f"identified at this scale when it includes 1 or cannot be computed (the reason is "
            f"given). The details follow in the conclusion.")


def _same_question(rows: list[Verdict], i: int):
    """Rows ``i``, ``i + 1``, ... that ask the same question (one merged cell in HTML)."""
    for row in rows[i:]:
        if row.question != rows[i].question:
            return
        yield row


def _figure_numbers(figures: list[Rendered]) -> dict[str, int]:
    return {f.name: i + 1 for i, f in enumerate(figures)}


def _owner(row: Row) -> str:
    return display_name(row.model, long=True)


def _overview(result: dict, table: RunTable) -> list[str]:
    lines = []
    for model in result["models"]:
        t = table.select(model=model)
        n_c, n_d = len(t.select(kind="compute")), len(t.select(kind="data"))
        sizes = sorted(set(t.N.tolist()))
        size_text = f", N from {fmt(sizes[0])} to {fmt(sizes[-1])}" if sizes else ""
        lines.append(f"{display_name(model, long=True)}: {n_c} compute-study runs, {n_d} "
                     f"data-study runs{size_text}")
    return lines


def render_html(result: dict, table: RunTable, figures: list[Rendered]) -> str:
    esc = html.escape
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             "<title>eqscale: does equivariance matter at scale?</title>",
             f"<style>{_CSS}</style></head><body>",
             "<h1>Does equivariance matter at scale?</h1>"]
    number = _figure_numbers(figures)
    parts.append("<table class='verdict' id='verdict'><tr><th>question</th><th>claim</th>"
                 "<th>answer</th><th>deciding number [95% interval]</th><th>figure</th></tr>")
    rows = verdicts(result)
    for i, v in enumerate(rows):
        link = (f"<a href='#{v.figure}'>Figure&nbsp;{number[v.figure]}</a>"
                if v.figure in number else "")
        span = sum(1 for _ in _same_question(rows, i))
        question = ("" if i and rows[i - 1].question == v.question else
                    f"<th class='question' rowspan='{span}'>{esc(v.question)}</th>")
        parts.append(f"<tr>{question}<td>{esc(v.claim)}</td>"
                     f"<td class='answer {_answer_class(v)}'><b>{esc(v.answer)}</b><br>"
                     f"<span>{esc(v.reason)}</span></td><td class='decide'>{esc(v.number)}</td>"
                     f"<td class='link'>{link}</td></tr>")
    parts.append(f"</table><p class='legend'>{esc(_verdict_legend(result))}</p>")
    parts.append(f"<p>Run table <code>{esc(result['source'])}</code>; compute measured as "
                 f"<code>{esc(result['compute_column'])}</code>.</p><ul>")
    parts += [f"<li>{esc(line)}</li>" for line in _overview(result, table)]
    parts += [f"<li>{esc(note)}</li>" for note in result["notes"]]
    parts.append("</ul><h2>Conclusion</h2>")
    parts += [f"<p>{esc(p)}</p>" for p in conclusion(result)]
    parts.append("<h2>Figures</h2>")
    for f in figures:
        caption = f"Figure {number[f.name]}. {f.title}" + (f" ({f.note})" if f.note and
                                                              f.png else "")
        if f.png is None:
            body = f"<p class='note'>{esc(f.note)}</p>"
        else:
            data = base64.b64encode(f.png).decode("ascii")
            body = f"<img alt='{esc(f.title)}' src='data:image/png;base64,{data}'>"
        parts.append(f"<figure id='{f.name}'>{body}<figcaption>{esc(caption)}</figcaption>"
                     "</figure>")
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


def render_markdown(result: dict, table: RunTable, figures: list[Rendered]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    number = _figure_numbers(figures)
    lines = ["# Does equivariance matter at scale?", "",
             "| question | claim | answer | deciding number [95% interval] | figure |",
             "|---|---|---|---|---|"]
    for v in verdicts(result):
        link = f"[Figure {number[v.figure]}]({v.figure}.png)" if v.figure in number else ""
        lines.append(f"| {cell(v.question)} | {cell(v.claim)} | **{v.answer}**: "
                     f"{cell(v.reason)} | {cell(v.number)} | {link} |")
    lines += ["", f"*{_verdict_legend(result)}*", "",
              f"Run table `{result['source']}`; compute measured as `{result['compute_column']}`.",
              ""]
    lines += [f"- {line}" for line in _overview(result, table) + list(result["notes"])]
    lines += ["", "## Conclusion", ""]
    for p in conclusion(result):
        lines += [p, ""]
    lines += ["## Figures", ""]
    for f in figures:
        caption = f"Figure {number[f.name]}. {f.title}"
        if f.png is None:
            lines += [f"*{caption}*: {f.note}", ""]
        else:
            note = f" ({f.note})" if f.note else ""
            lines += [f"![{f.title}]({f.name}.png)", "", f"*{caption}*{note}", ""]
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
    for f in figures:
        if f.png is not None:
            write_bytes_atomic(out_dir / f"{f.name}.png", f.png)
        else:  # a figure of an earlier report that this table cannot draw must not linger
            (out_dir / f"{f.name}.png").unlink(missing_ok=True)
    paths = {"html": out_dir / "report.html", "markdown": out_dir / "report.md",
             "fits": out_dir / "fits.json"}
    write_json_atomic(paths["fits"], result, note_non_finite=False)
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


@dataclass(frozen=True)
class StudyReport:
    """What :func:`make_report` wrote: ``paths`` (html, markdown, fits, figures), the analysis
    ``result`` it drew, and the ``fits.json`` it reused instead of refitting (or None)."""

    paths: dict[str, Path]
    result: dict
    reused_fits: Path | None


def make_report(runs: str | Path, out: str | Path | None = None, n_bootstrap: int = 200,
                seed: int = 0, workers: int | None = None) -> StudyReport:
    """``eqscale report``: fit everything (or reuse :func:`cached_fits`), then write the report
    (default: ``report/`` beside the run table)."""
    from eqscale.oserrors import ensure_writable_dir

    table = load_runs(runs)
    out_dir = Path(out) if out else Path(table.source).parent / "report"
    ensure_writable_dir(out_dir, "--out")  # refuse a bad --out before the fits, not after
    result = cached_fits(table, n_bootstrap, seed)
    reused = Path(table.source).parent / "fits.json" if result is not None else None
    if result is None:
        from eqscale.backends import free_cores

        result = analyse(table, n_bootstrap=n_bootstrap, seed=seed,
                         workers=workers or free_cores())
    return StudyReport(write_report(result, table, out_dir), result, reused)
