"""Sweep planning: a study spec -> the list of training runs, each with a deterministic id.

Budgets are checked against the model FLOP accounting (:mod:`eqscale.train.budget`): a size is
in a budget's IsoFLOP grid when the budget buys it at least ``min_steps`` optimiser steps, and a
budget whose grid is too small to hold a minimum is refused with an :class:`EqscaleError` that
says which budget would work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from eqscale.errors import EqscaleError
from eqscale.study.spec import StudySpec

# MOVi-B draws 3..10 objects uniformly: 6.5 on average. Training measures the dataset's own mean;
# planning before the data exists uses this expectation.
EXPECTED_MEAN_OBJECTS = 6.5


@dataclass(frozen=True)
class RunSpec:
    """One training run of a study: what varies between runs; the rest is the study's.

    ``lr`` None means the training preset's rate; ``awaits_lr`` marks a compute or data run of
    a study whose learning-rate stage has not picked its arm's rate yet (it has no id yet).
    """

    kind: str  # "lr", "compute" or "data"
    model: str
    size: int
    budget: float | None = None
    steps: int | None = None  # data runs: a fixed horizon; compute runs: what the budget buys
    augment: bool = False
    train_subset: int | None = None
    lr: float | None = None
    awaits_lr: bool = False

    @property
    def arm(self) -> str:
        return f"{self.model}+augment" if self.augment else self.model

    @property
    def label(self) -> str:
        aug = "+aug" if self.augment else ""
        if self.kind == "lr":
            what = f"lr{self.lr:.1e}"
        else:
            what = f"C{self.budget:.2e}" if self.kind == "compute" else f"D{self.train_subset}"
        return f"{self.kind}-{self.model}{aug}-s{self.size}-{what}"


def run_id(run: RunSpec, spec: StudySpec) -> str:
    """Readable, deterministic id: the run's label plus a hash of everything that defines it.

    The hash covers the run's full training config and the dataset spec, so editing a study
    (batch size, learning rate, ...) gives new ids instead of silently reusing runs trained
    under the old settings.
    """
    if run.awaits_lr:
        raise EqscaleError(f"{run.label} waits for the learning-rate stage to pick its rate")
    identity = {"config": train_config(run, spec).identity(), "data": spec.data.__dict__}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    return f"{run.label}-{digest}"


def train_config(run: RunSpec, spec: StudySpec) -> Any:
    """The :class:`eqscale.train.config.TrainConfig` of a planned run.

    Compute runs train to their budget's horizon without early stopping (an IsoFLOP point is a
    run that spent its budget); data runs keep the preset's early stopping (they stop when
    validation stops improving, or at ``steps``). Overrides of ``None`` (e.g.
    ``val_samples: null``) are applied as given.
    """
    from eqscale.train.config import make_config

    length: dict[str, Any] = (
        {"budget": run.budget} if run.kind == "compute" else {"steps": run.steps}
    )
    if run.lr is not None:
        length["lr"] = run.lr
    config = make_config(
        spec.train.preset,
        **{k: v for k, v in spec.train.overrides.items() if k not in length},
        model=run.model,
        size=run.size,
        augment=run.augment,
        train_subset=run.train_subset,
        seed=spec.train.seed,
        budget_convention=spec.train.budget_convention,
        **length,
    )
    nones = {k: None for k, v in spec.train.overrides.items() if v is None}
    if run.kind == "compute":
        nones["patience"] = None
    return dataclasses.replace(config, **nones)


def compute_steps(spec: StudySpec, model: str, size: int, budget: float,
                  mean_objects: float = EXPECTED_MEAN_OBJECTS) -> int:
    """Optimiser steps that ``budget`` buys ``model`` at ``size`` (0 if not even one; possibly
    more than a run may take, see :func:`max_steps`)."""
    from eqscale.train.budget import budget_steps, sample_cost

    cost = sample_cost(model, size, mean_objects, spec.data.faces_per_object)
    per_sample = cost.in_convention(spec.train.budget_convention)
    return budget_steps(budget, per_sample, batch_size(spec))


def max_steps(spec: StudySpec) -> int:
    """The compute study's step window's upper end: its ``max_steps``, at most what one run
    may take (:data:`eqscale.train.budget.MAX_STEPS`)."""
    from eqscale.train.budget import MAX_STEPS

    cap = spec.compute.max_steps if spec.compute is not None else None
    return MAX_STEPS if cap is None else min(cap, MAX_STEPS)


def batch_size(spec: StudySpec) -> int:
    """The study's fixed batch size: the override, else the training preset's."""
    from eqscale.train.config import make_config

    return make_config(spec.train.preset, **spec.train.overrides).batch_size


def min_budget(spec: StudySpec, model: str, size: int,
               mean_objects: float = EXPECTED_MEAN_OBJECTS) -> float:
    """The smallest budget that buys ``model`` at ``size`` ``min_steps`` steps."""
    from eqscale.train.budget import sample_cost

    assert spec.compute is not None
    cost = sample_cost(model, size, mean_objects, spec.data.faces_per_object)
    per_step = cost.in_convention(spec.train.budget_convention) * batch_size(spec)
    return per_step * spec.compute.min_steps


def plan_lr_stage(spec: StudySpec) -> list[RunSpec]:
    """The learning-rate stage's runs (by arm, then rate); empty without a stage."""
    if spec.lr is None:
        return []
    runs = []
    for arm in spec.arms:
        model, _, aug = arm.partition("+")
        runs += [RunSpec("lr", model, spec.lr.sizes[model], steps=spec.lr.steps,
                         augment=aug == "augment", lr=rate) for rate in spec.lr.grid]
    return runs


def plan_study(spec: StudySpec, picks: dict[str, float] | None = None,
               mean_objects: float = EXPECTED_MEAN_OBJECTS) -> list[RunSpec]:
    """Every run of the study: the learning-rate stage's, then compute runs (by model, budget,
    size), then data runs.

    Each compute or data run takes its arm's rate from ``picks`` (the stage's choice), else
    from the spec's fixed ``learning_rates``, else the training preset's. In a study with a
    stage, runs whose arm has no pick yet are marked ``awaits_lr``.

    Raises :class:`EqscaleError` for a budget whose IsoFLOP grid would hold fewer than
    ``min_sizes_per_budget`` sizes with at least ``min_steps`` steps each.
    """
    main = _plan_experiments(spec, mean_objects)
    rates = {**spec.learning_rates, **(picks or {})}
    tuned = set(spec.arms) if spec.lr is not None else set()
    out = plan_lr_stage(spec)
    for run in main:
        if run.arm in rates:
            out.append(dataclasses.replace(run, lr=rates[run.arm]))
        else:
            out.append(dataclasses.replace(run, awaits_lr=run.arm in tuned))
    return out


def _plan_experiments(spec: StudySpec, mean_objects: float) -> list[RunSpec]:
    """Compute runs, then data runs, without learning rates."""
    runs: list[RunSpec] = []
    if spec.compute is not None:
        cs = spec.compute
        for model in cs.models:
            for budget in sorted(cs.budgets):
                grid = []
                for size in sorted(cs.sizes[model]):
                    steps = compute_steps(spec, model, size, budget, mean_objects)
                    if cs.min_steps <= steps <= max_steps(spec):
                        grid.append(RunSpec("compute", model, size, budget=budget, steps=steps))
                if len(grid) < cs.min_sizes_per_budget:
                    _refuse(spec, model, budget, mean_objects, len(grid))
                runs.extend(grid)
    if spec.data_study is not None:
        ds = spec.data_study
        for variant in ds.variants:
            model, _, aug = variant.partition("+")
            for n in sorted(ds.train_sizes):
                runs.append(RunSpec("data", model, ds.size, steps=ds.steps,
                                    augment=aug == "augment", train_subset=n))
    return runs


def _refuse(spec: StudySpec, model: str, budget: float, mean_objects: float, found: int) -> None:
    """Raise the planner's error for a budget whose grid holds only ``found`` sizes."""
    cs = spec.compute
    assert cs is not None
    sizes = sorted(cs.sizes[model])
    k = cs.min_sizes_per_budget
    if len(sizes) < k:
        raise EqscaleError(
            f"compute study lists {len(sizes)} sizes but each budget needs {k} for an IsoFLOP grid"
        )
    steps = {s: compute_steps(spec, model, s, budget, mean_objects) for s in sizes}
    if any(st > max_steps(spec) for st in steps.values()):
        raise EqscaleError(
            f"budget {budget:.3g} FLOPs is impossible for {model}: only {found} of its sizes get "
            f"{cs.min_steps}..{max_steps(spec)} steps (steps by size: {steps}); widen the step "
            "range, add sizes or move the budget"
        )
    # The k smallest sizes are the cheapest grid; its largest member sets the minimum budget.
    needed = min_budget(spec, model, sizes[k - 1], mean_objects)
    raise EqscaleError(
        f"budget {budget:.3g} FLOPs is impossible for {model}: only {found} of sizes {sizes} "
        f"get {cs.min_steps} steps at batch size {batch_size(spec)}; use a budget >= {needed:.3g}"
    )
