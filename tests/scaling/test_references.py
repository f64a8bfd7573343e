"""The constant-velocity reference and the learning-rate stage as the analysis reports them."""

import math

import pytest

from eqscale.scaling.analysis import analyse
from eqscale.scaling.conclusion import conclusion
from eqscale.scaling.learning_rates import lr_rows, pick_learning_rates
from eqscale.scaling.references import reference_summary
from eqscale.scaling.runtable import load_runs
from tests.scaling.synthetic import make_rows, write_table

STAGE = {"gatr": {1e-3: 0.020, 3e-3: 0.015, 1e-2: 0.030},
         "transformer": {1e-3: 0.040, 3e-3: 0.050, 1e-2: math.nan},
         "transformer+augment": {3e-4: 0.060, 1e-3: 0.045}}


def _table(tmp_path, **kw):
    return load_runs(write_table(make_rows(budgets=(1e12, 1e13), sizes_per_budget=3, **kw),
                                 tmp_path / "runs.csv"))


def test_best_losses_are_stated_against_the_reference_and_runs_above_it_flagged(tmp_path):
    table = _table(tmp_path)
    experiments = table.take(table.kind != "lr")
    # a reference between the two models' best losses: every transformer run is above it
    cut = 0.5 * (experiments.select(model="gatr").loss.min()
                 + experiments.select(model="transformer").loss.min())
    table = _table(tmp_path, cv_loss=cut, rigid_cv_loss=0.8 * cut)
    ref = reference_summary(table)
    assert ref["ok"] and ref["constant_velocity_loss"] == pytest.approx(cut)
    gatr, base = ref["models"]["gatr"], ref["models"]["transformer"]
    assert gatr["ratio"] < 1 < base["ratio"] and gatr["skill"] == pytest.approx(1 - gatr["ratio"])
    n_base = len(experiments.select(model="transformer"))
    assert len(base["above"]) == base["n_runs"] == n_base
    above_gatr = experiments.select(model="gatr")
    assert len(gatr["above"]) == int((above_gatr.loss >= cut).sum())
    text = conclusion(analyse(table, n_bootstrap=0))[0]
    assert text.startswith("Against the constant-velocity reference")
    assert f"{n_base} of Transformer's {n_base} runs" in text
    assert ref["rigid_constant_velocity_loss"] == pytest.approx(0.8 * cut)
    assert "repeating its last rigid motion" in text


def test_tables_without_the_reference_column_say_so(tmp_path):
    ref = reference_summary(_table(tmp_path))
    assert not ref["ok"] and "constant_velocity_loss" in ref["reason"]
    assert not conclusion(analyse(_table(tmp_path), n_bootstrap=0))[0].startswith("Against")


def test_lr_stage_pick_is_the_lowest_validation_loss(tmp_path):
    arms = pick_learning_rates(STAGE)
    assert arms["gatr"]["pick"] == 3e-3 and not arms["gatr"]["at_edge"]
    assert arms["transformer"]["pick"] == 1e-3 and arms["transformer"]["at_edge"]
    assert arms["transformer+augment"]["pick"] == 1e-3
    assert pick_learning_rates({"gatr": {1e-3: math.nan}})["gatr"]["pick"] is None
    # the report reads the same picks back from the run table
    result = analyse(_table(tmp_path, lr_stage=STAGE), n_bootstrap=0)
    assert {arm: e["pick"] for arm, e in result["learning_rates"]["arms"].items()} == {
        arm: e["pick"] for arm, e in arms.items()}
    rows = {r[0]: r for r in lr_rows(result)}
    assert rows["transformer"][2] == "0.001" and "edge" in rows["transformer"][3]
    assert rows["transformer"][1] == "0.001: 0.04, 0.003: 0.05"  # the failed rate is left out
    # the stage's runs take no part in the fits
    plain = analyse(_table(tmp_path), n_bootstrap=0)
    assert result["models"]["gatr"]["frontier"] == plain["models"]["gatr"]["frontier"]
