"""``eqscale report``: self-contained HTML, Markdown with PNGs beside it, and a conclusion that
follows the numbers."""

import re
import shutil
from pathlib import Path

import pytest

from eqscale.cli import main
from eqscale.scaling.analysis import analyse
from eqscale.scaling.conclusion import conclusion
from eqscale.scaling.figures import FIGURES
from eqscale.scaling.report import make_report
from eqscale.scaling.runtable import load_runs
from tests.scaling.synthetic import LAWS, make_rows, write_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Synthetic tables have no run directories (no rollout.json) and no per-horizon rollout errors:
# the two rollout figures are notes there, every other figure an image.
WITHOUT_ROLLOUTS = len(FIGURES) - 2
# runs.csv of a real `eqscale demo --preset tiny` (one budget, two sizes per model, two
# training-set sizes): the smallest table the study layer writes, with all its extra columns
TINY_STUDY = Path(__file__).parent / "data" / "tiny_study_runs.csv"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    study = tmp_path_factory.mktemp("study")
    write_table(make_rows(budgets=(1e12, 1e13, 1e14), sizes_per_budget=4, seed=3),
                study / "runs.csv")
    assert main(["report", "--runs", str(study), "--bootstrap", "6"]) == 0
    return study / "report"


def test_html_is_self_contained_with_every_figure(report_dir):
    text = (report_dir / "report.html").read_text()
    images = re.findall(r"<img [^>]*src='([^']*)'", text)
    assert len(images) == WITHOUT_ROLLOUTS
    assert "No rollout picture" in text and "No rollout-error figure" in text
    assert all(src.startswith("data:image/png;base64,") for src in images)
    # nothing fetched from outside (links within the page, to the figures, are fine)
    assert not re.search(r"(src|href)=['\"](?!data:|#)", text)
    for word in ("Conclusion", "Fitted coefficients", "alpha", "IsoFLOP", "wall-clock"):
        assert word in text


def test_markdown_links_png_files_beside_it(report_dir):
    text = (report_dir / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == WITHOUT_ROLLOUTS
    for link in links:
        assert (report_dir / link).read_bytes().startswith(PNG_MAGIC)
    assert "| gatr |" not in text and "| GATr (equivariant) |" in text
    assert (report_dir / "fits.json").is_file()
    assert not [p for p in report_dir.iterdir() if p.name.startswith(".")]  # no temp files


def test_conclusion_follows_the_numbers(tmp_path):
    """The synthetic GATr is ~2x better; swap the laws and the verdict must swap too."""
    rows = make_rows(budgets=(1e12, 1e13, 1e14), sizes_per_budget=3, seed=4)
    text = " ".join(conclusion(analyse(load_runs(write_table(rows, tmp_path / "a.csv")), 6)))
    assert "Per FLOP, GATr wins" in text
    assert "augmentation closes" in text
    swapped = {"gatr": LAWS["transformer"], "transformer": LAWS["gatr"]}
    rows = make_rows(budgets=(1e12, 1e13, 1e14), sizes_per_budget=3, seed=4, laws=swapped)
    text = " ".join(conclusion(analyse(load_runs(write_table(rows, tmp_path / "b.csv")), 6)))
    assert "Per FLOP, Transformer wins" in text


def test_demo_sized_table_still_gives_full_report(tmp_path):
    rows = make_rows(budgets=(1e12, 1e13), sizes_per_budget=3, data_sizes=(8, 32), seed=5)
    write_table(rows, tmp_path / "runs.csv")
    paths = make_report(tmp_path / "runs.csv", tmp_path / "rep", n_bootstrap=3, seed=0).paths
    md = paths["markdown"].read_text()
    assert "not fitted" in md and "at least 4 points" in md
    assert len(re.findall(r"data:image/png;base64,", paths["html"].read_text())) == \
        WITHOUT_ROLLOUTS


def test_report_reuses_fits_json_only_when_it_matches(tmp_path):
    import json
    import os

    rows = make_rows(budgets=(1e12, 1e13), sizes_per_budget=3, data_sizes=(8, 32), seed=6)
    table = write_table(rows, tmp_path / "runs.csv")
    assert main(["fit", "--runs", str(tmp_path), "--bootstrap", "2"]) == 0
    fits = json.loads((tmp_path / "fits.json").read_text())
    fits["comparison"]["mean_ratio"]["params"]["ratio"] = 123.0  # a marker only reuse shows
    (tmp_path / "fits.json").write_text(json.dumps(fits))
    reused = make_report(tmp_path, n_bootstrap=2, seed=0)
    assert "123x" in reused.paths["markdown"].read_text()
    assert reused.reused_fits == tmp_path / "fits.json"
    refit = make_report(tmp_path, n_bootstrap=3, seed=0)
    assert "123x" not in refit.paths["markdown"].read_text() and refit.reused_fits is None
    later = (tmp_path / "fits.json").stat().st_mtime + 10
    os.utime(table, (later, later))  # the table changed after the fit: refit
    assert "123x" not in make_report(tmp_path, n_bootstrap=2,
                                     seed=0).paths["markdown"].read_text()


def test_report_of_a_real_tiny_study_has_every_figure(tmp_path):
    shutil.copy(TINY_STUDY, tmp_path / "runs.csv")
    paths = make_report(tmp_path, n_bootstrap=3, seed=0).paths
    html = paths["html"].read_text()
    # its runs.csv has per-horizon rollout errors; its run directories (tracks) are not kept
    assert len(re.findall(r"data:image/png;base64,", html)) == len(FIGURES) - 1
    assert "no IsoFLOP minimum" not in html  # that text lives in the PNG, not the page
    md = paths["markdown"].read_text()
    assert "needs 3 distinct sizes" in md and "at least 6 runs" in md
    assert "Per FLOP" in md
