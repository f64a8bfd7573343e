"""Reading runs.csv: failed runs ignored, missing columns named, directories accepted."""

import numpy as np
import pytest

from eqscale.errors import EqscaleError
from eqscale.scaling.runtable import load_runs
from tests.scaling.synthetic import COLUMNS, make_rows, write_table


def test_reads_study_directory_and_ignores_failed_runs(tmp_path):
    rows = make_rows(budgets=(1e12, 1e13), sizes_per_budget=3, data_sizes=(8, 16))
    write_table(rows, tmp_path / "runs.csv")
    table = load_runs(tmp_path)
    finished = [r for r in rows if r["status"] == "finished"]
    assert len(table) == len(finished) == len(rows) - 1
    assert any("not finished" in n for n in table.notes)
    assert table.models == ["gatr", "transformer"]
    assert set(table.kind) == {"compute", "data"}
    assert table.augment.dtype == bool and table.augment.sum() == 2
    assert np.isnan(table.train_subset[table.kind == "compute"]).all()
    assert table.compute_column == "flops_nominal"


def test_missing_columns_are_named(tmp_path):
    path = write_table(make_rows(), tmp_path / "runs.csv",
                       columns=[c for c in COLUMNS if c not in ("test_loss", "N")])
    with pytest.raises(EqscaleError, match="lacks column.*N, test_loss"):
        load_runs(path)


def test_missing_table_and_bad_flag(tmp_path):
    with pytest.raises(EqscaleError, match="not found"):
        load_runs(tmp_path / "nowhere")
    rows = make_rows(budgets=(1e12,), sizes_per_budget=3, data_sizes=())
    rows[0]["augment"] = "maybe"
    with pytest.raises(EqscaleError, match="augment"):
        load_runs(write_table(rows, tmp_path / "runs.csv"))


def test_executed_convention_switches_compute_column(tmp_path):
    rows = make_rows(budgets=(1e12,), sizes_per_budget=3, data_sizes=())
    for r in rows:
        r["budget_convention"] = "executed"
    table = load_runs(write_table(rows, tmp_path / "runs.csv"))
    assert table.compute_column == "flops_executed"
    assert np.allclose(table.flops, 1.3 * table.budget)
