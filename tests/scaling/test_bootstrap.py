"""Run-level bootstrap: strata keep their size, params are collected by path, intervals and
bands come from the resamples."""

import numpy as np

from eqscale.scaling.bootstrap import BootstrapSamples, collect_params, stratified_resample
from eqscale.scaling.runtable import load_runs
from tests.scaling.synthetic import make_rows, write_table


def test_stratified_resample_keeps_each_stratum(tmp_path):
    table = load_runs(write_table(make_rows(budgets=(1e12, 1e13), sizes_per_budget=3),
                                  tmp_path / "runs.csv"))
    rng = np.random.default_rng(0)
    ids = set()
    for _ in range(20):
        sample = stratified_resample(table, rng)
        assert len(sample) == len(table)
        for model in ("gatr", "transformer"):
            for kind in ("compute", "data"):
                for augment in (False, True):
                    orig = table.select(model=model, kind=kind, augment=augment)
                    new = sample.select(model=model, kind=kind, augment=augment)
                    assert len(new) == len(orig)
                    assert set(new.run_id) <= set(orig.run_id)
        ids |= set(sample.run_id)
    assert ids == set(table.run_id)  # with replacement, yet every run gets drawn eventually


def test_collect_params_and_attach_intervals():
    result = {"a": {"ok": True, "params": {"x": 1.0}}, "b": {"c": {"ok": False, "reason": "r"}},
              "d": {"e": {"ok": True, "params": {"A": 2.0, "exponent": -0.5}}}}
    assert collect_params(result) == {"a": {"x": 1.0}, "d/e": {"A": 2.0, "exponent": -0.5}}
    samples = BootstrapSamples()
    rng = np.random.default_rng(1)
    draws = rng.normal(1.0, 0.1, 400)
    for v in draws:
        samples.add({"a": {"ok": True, "params": {"x": float(v)}},
                     "d": {"e": {"ok": True, "params": {"A": 2.0, "exponent": float(-v / 2)}}}})
    samples.attach(result)
    lo, hi = result["a"]["ci"]["x"]
    assert np.isclose(lo, np.percentile(draws, 2.5)) and np.isclose(hi, np.percentile(draws, 97.5))
    assert result["a"]["bootstrap_ok"] == 400 and "ci" not in result["b"]["c"]
    x = np.array([1.0, 10.0, 100.0])
    band_lo, band_hi = samples.band("d/e", x)
    assert np.allclose(band_lo[0], 2.0) and np.all(band_lo <= band_hi)
    assert samples.band("nowhere", x) is None
