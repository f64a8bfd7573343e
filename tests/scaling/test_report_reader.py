"""The report as a reader meets it: the tiny study's HTML in a real headless Chromium (every
image loads, the verdict table comes first and links to its figures), the Markdown twin with
the same content, and figures whose ticks and legends stay off each other and off the data."""

from __future__ import annotations

import html
import itertools
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from eqscale.models.registry import display_color, display_name
from eqscale.rollouts import ROLLOUT_FILE, rollout_record, write_rollout
from eqscale.scaling.analysis import analyse
from eqscale.scaling.conclusion import conclusion
from eqscale.scaling.figures import FIGURES, draw_figures
from eqscale.scaling.report import write_report
from eqscale.scaling.rollout_figures import best_runs
from eqscale.scaling.runtable import load_runs
from eqscale.scaling.verdict import CONTRADICTED, NOT_IDENTIFIED, SUPPORTED, verdicts
from eqscale.study.runner import run_dir
from tests.scaling import browser
from tests.scaling.synthetic import make_rows, write_table

TINY_STUDY = Path(__file__).parent / "data" / "tiny_study_runs.csv"
ANSWERS = {SUPPORTED, CONTRADICTED, NOT_IDENTIFIED}


def fake_tracks(seed: int, frames: int = 25, objects: int = 3) -> dict:
    """Parabolic centroid tracks in the shape a training run saves (eqscale.rollouts)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None] / 12
    start, velocity = rng.normal(0, 2, (1, objects, 3)), rng.normal(0, 3, (1, objects, 3))
    true = start + velocity * t + 0.5 * np.array([0, 0, -10]) * t ** 2
    pred = true + rng.normal(0, 0.05, true.shape).cumsum(axis=0)
    pred[:2] = true[:2]
    cv = true[1] + (true[1] - true[0]) * (np.arange(frames) - 1)[:, None, None]
    return {"index": seed, "gravity": [0.0, 0.0, -10.0], "true": true.tolist(),
            "predicted": pred.tolist(), "constant_velocity": cv.tolist()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny study's report, its best runs given a rollout.json (the committed table's run
    directories are not kept)."""
    study = tmp_path_factory.mktemp("tiny_study")
    shutil.copy(TINY_STUDY, study / "runs.csv")
    table = load_runs(study)
    result = analyse(table, n_bootstrap=20, seed=0)
    for model, (rid, _) in best_runs(result, table).items():
        record = rollout_record(model, "test", 12, [fake_tracks(0), fake_tracks(3)])
        write_rollout(run_dir(study, rid) / ROLLOUT_FILE, record)
    paths = write_report(result, table, study / "report")
    return paths, result, table


PAGE_STATE = """
const h1 = document.querySelector('h1');
const first = h1.nextElementSibling;
return {
  images: Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight,
                                                 i.getBoundingClientRect().width]),
  first: first.tagName + '.' + first.className,
  rows: document.querySelectorAll('table.verdict tr').length,
  answers: Array.from(document.querySelectorAll('table.verdict td.answer b'))
                .map(b => b.textContent),
  links: Array.from(document.querySelectorAll('table.verdict a')).map(a => {
    const target = document.getElementById(a.getAttribute('href').slice(1));
    return [a.getAttribute('href'), !!target && !!target.querySelector('img')];
  }),
  figures: Array.from(document.querySelectorAll('figure')).map(f => f.id),
  width: document.documentElement.scrollWidth,
};
"""


def test_report_reads_in_a_real_browser(tiny):
    reason = browser.missing()
    if reason:
        pytest.skip(reason)
    paths, result, _ = tiny
    with browser.chromium() as driver:
        driver.get(paths["html"].resolve().as_uri())
        state = driver.execute_script(PAGE_STATE)
        assert driver.get_screenshot_as_png().startswith(b"\x89PNG")
    assert len(state["images"]) == len(FIGURES)  # the rollout picture included
    for complete, width, height, shown in state["images"]:
        assert complete and width > 300 and height > 200 and shown > 300
    assert state["first"] == "TABLE.verdict"  # the verdict table comes right after the title
    assert state["rows"] == 1 + len(verdicts(result)) == 7
    assert set(state["answers"]) <= ANSWERS and len(state["answers"]) == 6
    assert len(state["links"]) == 6 and all(ok for _, ok in state["links"])
    assert state["figures"] == [name for name, _, _ in FIGURES]
    assert state["width"] <= 1280  # nothing wider than the window: no sideways scrolling


def test_markdown_keeps_the_same_content(tiny):
    paths, result, _ = tiny
    md, page = paths["markdown"].read_text(), paths["html"].read_text()
    assert md.splitlines()[2].startswith("| question | claim | answer |")  # first, as in HTML
    for v in verdicts(result):
        for text in (v.claim, v.answer, v.reason, v.number):
            assert text.replace("|", "\\|") in md and html.escape(text) in page, text
    links = re.findall(r"\]\(([a-z_]+)\.png\)", md)
    assert set(links) == {name for name, _, _ in FIGURES}  # verdict links and images
    for name in links:
        assert (paths["html"].parent / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    for i, (_, title, _) in enumerate(FIGURES, start=1):
        caption = f"Figure {i}. {title}"
        assert caption in md and html.escape(caption) in page
    for para in conclusion(result):
        assert para in md and html.escape(para) in page


def test_missing_rollout_files_leave_a_note(tmp_path):
    shutil.copy(TINY_STUDY, tmp_path / "runs.csv")
    table = load_runs(tmp_path)
    paths = write_report(analyse(table, n_bootstrap=3), table, tmp_path / "report")
    md = paths["markdown"].read_text()
    assert "No rollout picture" in md and "eqscale evaluate" in md
    assert not (tmp_path / "report" / "rollout_tracks.png").exists()
    assert (tmp_path / "report" / "rollout_error.png").is_file()  # from runs.csv alone


def _extent(artist, renderer):
    return artist.get_window_extent(renderer)


def _overlap(a, b, slack: float = 0.5) -> bool:
    return (a.x0 + slack < b.x1 and b.x0 + slack < a.x1 and
            a.y0 + slack < b.y1 and b.y0 + slack < a.y1)


def _shown(label, frame, renderer, axis) -> bool:
    """Whether a tick label sits along the axes (matplotlib keeps labels of ticks outside the
    view, unseen)."""
    box = _extent(label, renderer)
    if axis.axis_name == "x":
        return frame.x0 - 1 <= (box.x0 + box.x1) / 2 <= frame.x1 + 1
    return frame.y0 - 1 <= (box.y0 + box.y1) / 2 <= frame.y1 + 1


def _check_readable(name: str, fig) -> None:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel(), name
        if ax.get_xscale() == "log" or ax.get_yscale() == "log":
            assert "[" in ax.get_ylabel() and "[" in ax.get_xlabel(), name  # units
        frame = ax.get_window_extent(renderer)
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() + axis.get_ticklabels(minor=True)
                      if t.get_visible() and t.get_text() and _shown(t, frame, renderer, axis)]
            boxes = [_extent(t, renderer) for t in labels]
            for a, b in itertools.combinations(boxes, 2):
                assert not _overlap(a, b), (name, [t.get_text() for t in labels])
        for legend in legends:
            assert not _overlap(_extent(legend, renderer), ax.get_window_extent(renderer)), name
    for legend in legends:  # one colour per architecture, in every figure
        for handle, text in zip(legend.legend_handles, legend.get_texts()):
            for model in ("gatr", "transformer"):
                if text.get_text().startswith(display_name(model)) and "C = " not in \
                        text.get_text():
                    colours = _colours(handle)
                    assert display_color(model, "") in colours, (name, text.get_text())


def _colours(handle) -> set[str]:
    from matplotlib.colors import to_hex

    found = set()
    for getter in ("get_color", "get_facecolor", "get_edgecolor", "get_markerfacecolor"):
        value = getattr(handle, getter, lambda: None)()
        if value is None or isinstance(value, str) and value == "none":
            continue
        values = np.atleast_2d(value) if not isinstance(value, str) else [value]
        found |= {to_hex(v, keep_alpha=False) for v in values if len(v)}
    return found


def test_figures_keep_ticks_legends_and_data_apart(tiny, tmp_path):
    _, result, table = tiny
    drawn = [(name, fig) for name, _, fig, _ in draw_figures(result, table) if fig]
    assert len(drawn) == len(FIGURES)
    rows = make_rows(budgets=(1e12, 1e13, 1e14), sizes_per_budget=4, seed=3)
    big = load_runs(write_table(rows, tmp_path / "runs.csv"))
    drawn += [(name, fig) for name, _, fig, _ in draw_figures(analyse(big, 6), big) if fig]
    for name, fig in drawn:
        _check_readable(name, fig)


def test_rollout_picture_shows_what_there_is(tmp_path):
    """One architecture's file present, the other's corrupt: the picture shows the one and the
    note names the other."""
    from eqscale.scaling.rollout_figures import rollout_tracks

    shutil.copy(TINY_STUDY, tmp_path / "runs.csv")
    table = load_runs(tmp_path)
    result = analyse(table, n_bootstrap=0)
    best = best_runs(result, table)
    write_rollout(run_dir(tmp_path, best["gatr"][0]) / ROLLOUT_FILE,
                  rollout_record("gatr", "test", 12, [fake_tracks(1)]))
    broken = run_dir(tmp_path, best["transformer"][0])
    broken.mkdir(parents=True)
    (broken / ROLLOUT_FILE).write_text('{"format": 0}')
    fig, note = rollout_tracks(result, table)
    assert len(fig.axes) == 1 and "GATr" in fig.axes[0].get_title()
    assert "not an eqscale-rollout-1 file" in note and best["transformer"][0] in note
