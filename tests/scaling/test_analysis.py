"""The full analysis on synthetic run tables with known laws: recovery, intervals, comparison,
graceful degradation on demo-sized tables, and the ``eqscale fit`` command."""

import json

import numpy as np
import pytest

from eqscale.cli import main
from eqscale.scaling.analysis import analyse, fit_runs
from eqscale.scaling.runtable import load_runs
from tests.scaling.synthetic import COLUMNS, DATA_LAWS, LAWS, make_rows, write_table


@pytest.fixture(scope="module")
def full_result(tmp_path_factory):
    path = write_table(make_rows(seed=11), tmp_path_factory.mktemp("full") / "runs.csv")
    return analyse(load_runs(path), n_bootstrap=12, seed=0)


def _true_a(law):
    return law.beta / (law.alpha + law.p * law.beta)


@pytest.mark.parametrize("model", ["gatr", "transformer"])
def test_recovers_surface_allocation_and_data_laws(full_result, model):
    law, res = LAWS[model], full_result["models"][model]
    fit = res["parametric"]["fit"]
    assert fit["ok"]
    assert fit["params"]["alpha"] == pytest.approx(law.alpha, abs=0.05)
    assert fit["params"]["beta"] == pytest.approx(law.beta, abs=0.05)
    alloc = res["parametric"]["allocation"]["params"]
    assert alloc["a"] == pytest.approx(_true_a(law), abs=0.03)
    # IsoFLOP minima give the same exponent independently of the surface fit
    assert res["isoflop"]["N_opt"]["params"]["exponent"] == pytest.approx(_true_a(law), abs=0.08)
    assert res["cost_model"]["params"]["k"] == pytest.approx(law.k, rel=1e-6)
    data = res["data"]["no_augment"]["offset_law"]["params"]
    assert -data["exponent"] == pytest.approx(DATA_LAWS[(model, False)].gamma, abs=0.08)
    ci = fit["ci"]["alpha"]
    assert ci[0] <= fit["params"]["alpha"] <= ci[1]
    assert fit["bootstrap_ok"] >= 10


def test_comparison_says_equivariant_wins_and_allocations_differ(full_result):
    comp = full_result["comparison"]
    assert len(comp["budgets"]) == 4
    for entry in comp["budgets"].values():
        assert entry["params"]["ratio"] > 1.5  # the synthetic GATr is about 2x better
    assert comp["mean_ratio"]["ci"]["ratio"][0] > 1.5
    # true allocation exponents: 0.43 (gatr) vs 0.54 (transformer)
    diff = comp["allocation_a"]
    assert diff["params"]["difference"] == pytest.approx(_true_a(LAWS["gatr"])
                                                         - _true_a(LAWS["transformer"]), abs=0.04)
    assert diff["differ"] and diff["p_value"] < 0.05
    assert comp["wall_ratio"]["ok"] and comp["wall_ratio"]["params"]["ratio"] > 1.0
    assert "augment" not in full_result["models"]["gatr"]["data"]
    assert "augment" in full_result["models"]["transformer"]["data"]


def test_demo_sized_table_degrades_gracefully(tmp_path):
    rows = make_rows(budgets=(1e12, 1e13), sizes_per_budget=3, data_sizes=(8, 16, 32), seed=2)
    result = analyse(load_runs(write_table(rows, tmp_path / "runs.csv")), n_bootstrap=4)
    gatr = result["models"]["gatr"]
    assert gatr["frontier"]["power_law"]["ok"]
    assert not gatr["frontier"]["offset_law"]["ok"]
    assert "at least 4 points" in gatr["frontier"]["offset_law"]["reason"]
    assert gatr["parametric"]["fit"]["ok"]  # 6 runs, 5 parameters
    assert not gatr["data"]["no_augment"]["offset_law"]["ok"]
    json.dumps(result, allow_nan=False)  # everything recorded is plain JSON


def test_single_model_and_tiny_tables_do_not_crash(tmp_path):
    rows = [r for r in make_rows(budgets=(1e12,), sizes_per_budget=2, data_sizes=(8,))
            if r["model"] == "gatr"]
    result = analyse(load_runs(write_table(rows, tmp_path / "runs.csv")), n_bootstrap=3)
    gatr = result["models"]["gatr"]
    assert not result["comparison"]["ok"] and "transformer" in result["comparison"]["reason"]
    assert not gatr["frontier"]["power_law"]["ok"]
    assert not gatr["parametric"]["fit"]["ok"] and "at least 6" in \
        gatr["parametric"]["fit"]["reason"]
    assert not gatr["isoflop"]["minima"][0]["ok"]


def test_bootstrap_is_deterministic_given_seed(tmp_path):
    rows = make_rows(budgets=(1e12, 1e13, 1e14), sizes_per_budget=3)
    path = write_table(rows, tmp_path / "r.csv")
    a = analyse(load_runs(path), n_bootstrap=3, seed=5)
    b = analyse(load_runs(path), n_bootstrap=3, seed=5)
    c = analyse(load_runs(path), n_bootstrap=3, seed=6)
    ci = lambda r: r["models"]["gatr"]["frontier"]["power_law"]["ci"]  # noqa: E731
    assert ci(a) == ci(b) and ci(a) != ci(c)


def test_bootstrap_in_worker_processes_gives_the_same_fits(tmp_path):
    """The resamples are drawn in the parent and only fitted in the workers, so the whole
    result (intervals, bands, p-values) is identical for one worker and for three."""
    rows = make_rows(budgets=(1e12, 1e13, 1e14), sizes_per_budget=3)
    table = load_runs(write_table(rows, tmp_path / "r.csv"))
    serial = analyse(table, n_bootstrap=5, seed=2, workers=1)
    assert analyse(table, n_bootstrap=5, seed=2, workers=3) == serial


def test_fit_command_writes_fits_json_and_prints_table(tmp_path, capsys):
    write_table(make_rows(budgets=(1e12, 1e13, 1e14), sizes_per_budget=3), tmp_path / "runs.csv")
    assert main(["fit", "--runs", str(tmp_path), "--bootstrap", "2"]) == 0
    out = capsys.readouterr().out
    assert "L(N, D)" in out and "gatr" in out and "transformer" in out
    saved = json.loads((tmp_path / "fits.json").read_text())
    assert saved["n_bootstrap"] == 2 and set(saved["models"]) == {"gatr", "transformer"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fits.json", "runs.csv"]
    result, path = fit_runs(tmp_path / "runs.csv", out=tmp_path / "sub", n_bootstrap=0, seed=0)
    assert path == tmp_path / "sub" / "fits.json" and path.is_file()
    assert json.loads(path.read_text())["models"].keys() == result["models"].keys()


def test_fit_command_turns_bad_tables_into_exit_code_2(tmp_path, capsys):
    write_table(make_rows(), tmp_path / "runs.csv", columns=[c for c in COLUMNS if c != "model"])
    assert main(["fit", "--runs", str(tmp_path)]) == 2
    assert "model" in capsys.readouterr().err
    rows = [r for r in make_rows() if r["status"] == "failed"]
    write_table(rows, tmp_path / "runs.csv")
    assert main(["fit", "--runs", str(tmp_path)]) == 2
    assert "no finished runs" in capsys.readouterr().err
    assert not np.any([p.name == "fits.json" for p in tmp_path.iterdir()])
