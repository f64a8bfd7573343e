"""Planning: every preset plans within its step floor, impossible budgets are refused, run ids
are deterministic and change with the settings that define a run."""

import dataclasses
import re

import pytest

from eqscale.errors import EqscaleError
from eqscale.study.plan import compute_steps, plan_study, run_id, train_config
from eqscale.study.presets import PRESETS
from eqscale.study.spec import ComputeStudy
from eqscale.train.config import make_config


def fake_picks(spec, rate=2e-3):
    return {arm: rate for arm in spec.arms}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_plans_with_enough_steps(name):
    spec = PRESETS[name]
    runs = plan_study(spec, fake_picks(spec))
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
    picks = fake_picks(spec)
    first = [run_id(r, spec) for r in plan_study(spec, picks)]
    assert first == [run_id(r, spec) for r in plan_study(spec, picks)]
    bs = {**spec.train.overrides, "weight_decay": 0.1}
    other = dataclasses.replace(spec, train=dataclasses.replace(spec.train, overrides=bs))
    second = [run_id(r, other) for r in plan_study(other, picks)]
    assert not set(first) & set(second)
    # Another pick gives the tuned runs new ids, and only them.
    third = [run_id(r, spec) for r in plan_study(spec, fake_picks(spec, 5e-3))]
    kinds = [r.kind for r in plan_study(spec, picks)]
    assert all((a == b) == (k == "lr") for a, b, k in zip(first, third, kinds))


def test_lr_stage_runs_every_arm_at_every_rate_and_waits_for_picks():
    spec = PRESETS["tiny"]
    runs = plan_study(spec)
    stage = [r for r in runs if r.kind == "lr"]
    assert {(r.arm, r.lr) for r in stage} == {(a, x) for a in spec.arms for x in spec.lr.grid}
    assert all(r.size == spec.lr.sizes[r.model] and r.steps == spec.lr.steps for r in stage)
    rest = [r for r in runs if r.kind != "lr"]
    assert rest and all(r.awaits_lr and r.lr is None for r in rest)
    with pytest.raises(EqscaleError, match="learning-rate stage"):
        run_id(rest[0], spec)
    picks = {arm: 1e-3 * (i + 1) for i, arm in enumerate(spec.arms)}
    for run in plan_study(spec, picks):
        if run.kind != "lr":
            assert not run.awaits_lr and run.lr == picks[run.arm]
            assert train_config(run, spec).lr == picks[run.arm]


def test_fixed_learning_rates_apply_without_a_stage():
    spec = dataclasses.replace(PRESETS["tiny"], lr=None,
                               learning_rates={"gatr": 4e-3, "transformer+augment": 2e-4})
    runs = plan_study(spec)
    assert not [r for r in runs if r.kind == "lr"]
    preset_lr = make_config(spec.train.preset, **spec.train.overrides).lr
    for run in runs:
        expected = spec.learning_rates.get(run.arm, preset_lr)
        assert not run.awaits_lr and train_config(run, spec).lr == expected
