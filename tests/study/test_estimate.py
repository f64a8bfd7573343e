"""The plan's wall-time estimate: the step-time model recovers known overheads and rates, the
scheduler places runs as the sweep does, and ``sweep plan --step-times`` prints the estimate
(or a one-line error for a file that is not a benchmark)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eqscale.cli import main
from eqscale.data.format import MAX_OBJECTS
from eqscale.errors import EqscaleError
from eqscale.study.estimate import (
    estimate_wall,
    fit_step_time,
    load_step_times,
    makespan,
    run_seconds,
)
from eqscale.study.plan import EXPECTED_MEAN_OBJECTS, batch_size, plan_study
from eqscale.study.presets import PRESETS
from eqscale.train.budget import sample_cost


def _bench(tmp_path, overhead: dict[str, float], rate: dict[str, float],
           flops: tuple[float, ...] = (1e7, 1e8, 1e9, 1e10)):
    """A benchmark file whose step times follow ``overhead + flops / rate`` exactly."""
    rows = [{"arch": arch, "size": i, "flops_executed_per_step": f,
             "step_seconds": overhead[arch] + f / rate[arch]}
            for arch in overhead for i, f in enumerate(flops)]
    path = tmp_path / "steps.json"
    path.write_text(json.dumps({"rows": rows}))
    return path


def test_step_time_model_recovers_overhead_and_rate():
    rng = np.random.default_rng()
    overhead, rate = rng.uniform(0.01, 0.1), rng.uniform(1e9, 1e11)
    flops = np.sort(rng.uniform(1e6, 1e11, size=5))
    model = fit_step_time([{"flops_executed_per_step": f, "step_seconds": overhead + f / rate}
                           for f in flops])
    assert model.overhead == pytest.approx(overhead, rel=1e-9)
    assert model.rate == pytest.approx(rate, rel=1e-9)
    # One measurement: a pure rate through it.
    one = fit_step_time([{"flops_executed_per_step": 2e9, "step_seconds": 0.5}])
    assert one.overhead == 0 and one.rate == pytest.approx(4e9)


def test_makespan_places_runs_in_order_on_the_first_free_worker():
    assert makespan([5, 3, 3, 1], workers=2) == 6  # 5 | 3+3 -> 1 joins the first: 5+1
    assert makespan([5, 3, 3, 1], workers=1) == 12
    assert makespan([2, 2, 2], workers=8) == 2
    assert makespan([], workers=2) == 0


def test_estimate_is_the_stage_then_the_rest(tmp_path):
    spec = PRESETS["demo-lr"]
    path = _bench(tmp_path, {"gatr": 0.05, "transformer": 0.01}, {"gatr": 2e10,
                                                                   "transformer": 5e10})
    runs = plan_study(spec, {arm: 1e-3 for arm in spec.arms})
    est = estimate_wall(runs, spec, path, workers=2)

    def by_hand(run):
        cost = sample_cost(run.model, run.size, EXPECTED_MEAN_OBJECTS,
                           spec.data.faces_per_object, slots=MAX_OBJECTS)
        per_step = cost.executed * batch_size(spec)
        return run.steps * ({"gatr": 0.05, "transformer": 0.01}[run.model]
                            + per_step / {"gatr": 2e10, "transformer": 5e10}[run.model])

    stage = [by_hand(r) for r in runs if r.kind == "lr"]
    rest = [by_hand(r) for r in runs if r.kind != "lr"]
    assert est.seconds == pytest.approx(makespan(stage, 2) + makespan(rest, 2), rel=1e-9)
    assert sum(est.core_seconds.values()) == pytest.approx(sum(stage) + sum(rest), rel=1e-9)
    assert est.seconds < sum(stage) + sum(rest)  # two workers share the work
    models = load_step_times(path)
    assert run_seconds(runs[0], spec, models) == pytest.approx(by_hand(runs[0]), rel=1e-9)


def test_sweep_plan_prints_the_estimate(tmp_path, capsys):
    path = _bench(tmp_path, {"gatr": 0.05, "transformer": 0.01}, {"gatr": 2e10,
                                                                   "transformer": 5e10})
    assert main(["sweep", "plan", "--study", "demo", "--out", str(tmp_path / "s"),
                 "--workers", "2", "--step-times", str(path)]) == 0
    assert "estimated wall time:" in capsys.readouterr().out
    assert main(["sweep", "plan", "--study", "demo", "--out", str(tmp_path / "s"),
                 "--step-times", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["estimated_wall_seconds"] > 0
    assert main(["sweep", "plan", "--study", "demo", "--out", str(tmp_path / "s")]) == 0
    assert "pass --step-times" in capsys.readouterr().out


def test_a_file_that_is_not_a_benchmark_is_refused(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(EqscaleError, match="not a result of `eqscale bench models"):
        load_step_times(bad)
    assert main(["sweep", "plan", "--study", "demo", "--out", str(tmp_path / "s"),
                 "--step-times", str(bad)]) == 2
    assert "not a result of" in capsys.readouterr().err
    only_gatr = _bench(tmp_path, {"gatr": 0.05}, {"gatr": 2e10})
    with pytest.raises(EqscaleError, match="no measurements of 'transformer'"):
        estimate_wall(plan_study(PRESETS["demo"]), PRESETS["demo"], only_gatr, 2)
