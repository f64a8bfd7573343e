"""Planning: every preset plans within its step floor, impossible budgets are refused, run ids
are deterministic and change with the settings that define a run."""

import dataclasses
import re

import pytest

from eqscale.errors import EqscaleError
from eqscale.study.plan import compute_steps, plan_study, run_id
from eqscale.study.presets import PRESETS
from eqscale.study.spec import ComputeStudy


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_plans_with_enough_steps(name):
    spec = PRESETS[name]
    runs = plan_study(spec)
    compute = [r for r in runs if r.kind == "compute"]
    cs = spec.compute
    assert all(r.steps >= cs.min_steps for r in compute)
    for model in cs.models:
        for budget in cs.budgets:
            grid = [r for r in compute if r.model == model and r.budget == budget]
            assert len(grid) >= cs.min_sizes_per_budget, (model, budget)
    data = [r for r in runs if r.kind == "data"]
    ds = spec.data_study
    assert len(data) == len(ds.train_sizes) * len(ds.variants)
    assert {(r.model, r.augment) for r in data} == {
        (v.split("+")[0], v.endswith("+augment")) for v in ds.variants
    }
    ids = [run_id(r, spec) for r in runs]
    assert len(set(ids)) == len(ids)


def test_impossible_budget_is_refused_with_a_budget_that_works():
    tiny = PRESETS["tiny"]
    spec = dataclasses.replace(tiny, compute=dataclasses.replace(tiny.compute, budgets=(1e3,)))
    with pytest.raises(EqscaleError, match="impossible") as exc:
        plan_study(spec)
    suggested = float(re.search(r"use a budget >= (\S+)$", str(exc.value)).group(1))
    # The suggestion is the real threshold: it plans, and 10 % less does not.
    ok = dataclasses.replace(spec, compute=dataclasses.replace(spec.compute,
                                                                budgets=(suggested * 1.01,)))
    need = tiny.compute.min_sizes_per_budget * len(tiny.compute.models)
    assert len([r for r in plan_study(ok) if r.kind == "compute"]) >= need
    low = dataclasses.replace(spec, compute=dataclasses.replace(spec.compute,
                                                                 budgets=(suggested * 0.9,)))
    with pytest.raises(EqscaleError, match="impossible"):
        plan_study(low)


def test_too_few_sizes_for_an_isoflop_grid_is_refused():
    tiny = PRESETS["tiny"]
    spec = dataclasses.replace(tiny, compute=ComputeStudy(budgets=(1e15,), sizes=(0, 1)))
    with pytest.raises(EqscaleError, match="IsoFLOP grid"):
        plan_study(spec)


def test_steps_follow_the_flop_accounting():
    spec = PRESETS["tiny"]
    s1 = compute_steps(spec, "gatr", 0, 1e10)
    s2 = compute_steps(spec, "gatr", 0, 2e10)
    assert s1 > 0 and abs(s2 - 2 * s1) <= 1
    # A bigger model costs more per step: the same budget buys fewer steps.
    assert compute_steps(spec, "gatr", 2, 1e10) < s1


def test_run_ids_are_deterministic_and_track_the_training_settings():
    spec = PRESETS["tiny"]
    first = [run_id(r, spec) for r in plan_study(spec)]
    assert first == [run_id(r, spec) for r in plan_study(spec)]
    lr = {**spec.train.overrides, "lr": 1e-2}
    other = dataclasses.replace(spec, train=dataclasses.replace(spec.train, overrides=lr))
    second = [run_id(r, other) for r in plan_study(other)]
    assert not set(first) & set(second)
