"""Study specs as data: frozen dataclasses with a JSON form.

A study is the dataset it needs, the training settings shared by its runs, an optional
learning-rate stage that tunes each arm first, and up to two experiments (docs/study.md): a *compute
study* (per architecture and FLOP budget an IsoFLOP grid of model sizes) and a *data study*
(training-set sizes x {gatr, transformer, transformer+augment}, each trained to convergence with
early stopping). ``--study`` takes a preset name
(:mod:`eqscale.study.presets`) or the path of a JSON file holding :meth:`StudySpec.to_dict`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from eqscale.errors import EqscaleError
from eqscale.models.registry import AUGMENT_SUFFIX, BUILTIN, architecture, names, variants


def default_variants() -> tuple[str, ...]:
    """The data study's default arms: the study's own architectures, and each
    non-equivariant one also trained with random E(3) augmentation (an equivariant model gains
    nothing from it). A plugin's architecture joins when a spec names it."""
    return BUILTIN + tuple(n + AUGMENT_SUFFIX for n in BUILTIN
                           if not architecture(n).equivariant)


@dataclass(frozen=True)
class DataSpec:
    """The dataset a study trains on (arguments of ``eqscale generate``)."""

    n_train: int
    n_val: int
    n_test: int
    seed: int = 0
    shapes: str = "procedural"
    faces_per_object: int = 64
    shard_size: int = 32

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val", "n_test", "faces_per_object", "shard_size"):
            if getattr(self, name) < 1:
                raise EqscaleError(f"data.{name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class TrainSpec:
    """Training settings shared by every run: a training preset plus overrides.

    ``overrides`` are fields of :class:`eqscale.train.config.TrainConfig` (batch size, learning
    rate, evaluation sizes, ...); a fixed batch size per study keeps D = steps x batch size
    comparable across runs.
    """

    preset: str = "tiny"
    overrides: dict[str, Any] = field(default_factory=dict)
    budget_convention: str = "nominal"
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("model", "size", "steps", "budget", "augment", "train_subset", "seed",
                    "budget_convention", "device"):
            if key in self.overrides:
                raise EqscaleError(f"train.overrides may not set {key!r}; the study plans it")
        import dataclasses as dc

        from eqscale.train.config import TrainConfig

        unknown = sorted(set(self.overrides) - {f.name for f in dc.fields(TrainConfig)})
        if unknown:
            raise EqscaleError(f"train.overrides has unknown training config keys: {unknown}")
        if self.budget_convention not in ("nominal", "executed"):
            raise EqscaleError(f"unknown budget convention {self.budget_convention!r}")


@dataclass(frozen=True)
class ComputeStudy:
    """IsoFLOP grids: every model x budget, trained at each size that gets enough steps.

    A size belongs to a budget's grid when the budget buys it between ``min_steps`` and
    ``max_steps`` optimiser steps (so the grid slides toward larger models as budgets grow, as
    Chinchilla's did; ``None``: no upper limit); a budget whose grid has fewer than
    ``min_sizes_per_budget`` sizes cannot locate an IsoFLOP minimum and is refused.
    """

    budgets: tuple[float, ...]
    sizes: dict[str, tuple[int, ...]]  # candidate size indices per model
    models: tuple[str, ...] | None = None  # default: the models of ``sizes`` (or the built-in)
    min_steps: int = 50
    max_steps: int | None = None
    min_sizes_per_budget: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "budgets", tuple(float(b) for b in self.budgets))
        if self.models is None:
            object.__setattr__(self, "models", tuple(self.sizes) if isinstance(self.sizes, dict)
                               else BUILTIN)
        object.__setattr__(self, "models", tuple(self.models))
        sizes = self.sizes
        if not isinstance(sizes, dict):  # one list for every model
            sizes = {m: sizes for m in self.models}
        object.__setattr__(self, "sizes", {m: tuple(int(s) for s in v) for m, v in sizes.items()})
        if not self.budgets or any(not (b > 0 and math.isfinite(b)) for b in self.budgets):
            raise EqscaleError(f"compute.budgets must be positive, finite FLOP counts, "
                               f"got {self.budgets}")
        if len(set(self.budgets)) != len(self.budgets):
            raise EqscaleError(f"compute.budgets has duplicates: {self.budgets}")
        for m in self.models:
            if m not in names():
                raise EqscaleError(f"unknown model {m!r} in compute.models; choose from "
                                   f"{', '.join(names())}")
            s = self.sizes.get(m)
            if not s or any(i < 0 for i in s) or len(set(s)) != len(s):
                raise EqscaleError(f"compute.sizes[{m!r}] must be distinct size indices >= 0: {s}")
        if set(self.sizes) - set(self.models):
            raise EqscaleError(f"compute.sizes names models not in compute.models: "
                               f"{sorted(set(self.sizes) - set(self.models))}")
        if self.min_steps < 1 or self.min_sizes_per_budget < 1:
            raise EqscaleError("compute.min_steps and compute.min_sizes_per_budget must be >= 1")
        if self.max_steps is not None and self.max_steps < self.min_steps:
            raise EqscaleError("compute.max_steps must be at least compute.min_steps")


@dataclass(frozen=True)
class DataStudy:
    """Training-set sizes x variants at one model size, ``steps`` steps with early stopping."""

    train_sizes: tuple[int, ...]
    size: int
    steps: int
    variants: tuple[str, ...] = field(default_factory=default_variants)

    def __post_init__(self) -> None:
        object.__setattr__(self, "train_sizes", tuple(int(n) for n in self.train_sizes))
        object.__setattr__(self, "variants", tuple(self.variants))
        if not self.train_sizes or any(n < 1 for n in self.train_sizes):
            raise EqscaleError(f"data_study.train_sizes must be >= 1: {self.train_sizes}")
        if len(set(self.train_sizes)) != len(self.train_sizes):
            raise EqscaleError(f"data_study.train_sizes has duplicates: {self.train_sizes}")
        for v in self.variants:
            if v not in variants():
                raise EqscaleError(f"unknown data-study variant {v!r}; choose from "
                                   f"{', '.join(variants())}")
        if self.size < 0 or self.steps < 1:
            raise EqscaleError("data_study.size must be >= 0 and data_study.steps >= 1")


@dataclass(frozen=True)
class LRStage:
    """Learning-rate stage, run before the other experiments: every arm of the study (each
    compute-study model, each data-study variant) trained at each rate of ``grid`` for
    ``steps`` steps at size ``sizes[model]`` on the full training set; the rate with the lowest
    best-validation loss is the arm's pick, which every later run of that arm uses."""

    grid: tuple[float, ...]
    steps: int
    sizes: dict[str, int]  # size index per model

    def __post_init__(self) -> None:
        object.__setattr__(self, "grid", tuple(sorted(float(x) for x in self.grid)))
        object.__setattr__(self, "sizes", {m: int(v) for m, v in dict(self.sizes).items()})
        if not self.grid or any(not (x > 0 and math.isfinite(x)) for x in self.grid):
            raise EqscaleError(f"lr.grid must be positive learning rates, got {self.grid}")
        if len(set(self.grid)) != len(self.grid):
            raise EqscaleError(f"lr.grid has duplicates: {self.grid}")
        if self.steps < 1:
            raise EqscaleError(f"lr.steps must be at least 1, got {self.steps}")
        for m, size in self.sizes.items():
            if m not in names() or size < 0:
                raise EqscaleError(f"lr.sizes must map models of {', '.join(names())} to size "
                                   f"indices >= 0, got {m!r}: {size}")


@dataclass(frozen=True)
class StudySpec:
    """A whole study: dataset, shared training settings, compute and data experiments."""

    name: str
    data: DataSpec
    train: TrainSpec
    compute: ComputeStudy | None = None
    data_study: DataStudy | None = None
    lr: LRStage | None = None
    # Fixed learning rates per arm (e.g. a pick committed from an earlier lr stage), used by
    # arms the stage does not tune; arms in neither keep the training preset's rate.
    learning_rates: dict[str, float] = field(default_factory=dict)
    description: str = ""
    bootstrap: int = 200  # bootstrap resamples of the fits (eqscale demo)

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_" for c in self.name):
            raise EqscaleError(f"study name must be letters, digits, - or _: {self.name!r}")
        if self.compute is None and self.data_study is None:
            raise EqscaleError(f"study {self.name!r} has neither a compute nor a data study")
        object.__setattr__(self, "learning_rates",
                           {a: float(v) for a, v in dict(self.learning_rates).items()})
        for arm, rate in self.learning_rates.items():
            if arm not in variants() or not (rate > 0 and math.isfinite(rate)):
                raise EqscaleError(f"learning_rates must map arms of {', '.join(variants())} "
                                   f"to positive rates, got {arm!r}: {rate}")
        if self.lr is not None:
            missing = sorted({arm.partition("+")[0] for arm in self.arms} - set(self.lr.sizes))
            if missing:
                raise EqscaleError(f"lr.sizes names no size for {', '.join(missing)}")
        if self.data_study is not None and max(self.data_study.train_sizes) > self.data.n_train:
            raise EqscaleError(
                f"data study wants {max(self.data_study.train_sizes)} training trajectories "
                f"but the dataset has {self.data.n_train}"
            )

    @property
    def arms(self) -> tuple[str, ...]:
        """Every arm the study trains: its compute models, then its data-study variants."""
        arms = list(self.compute.models) if self.compute is not None else []
        if self.data_study is not None:
            arms += [v for v in self.data_study.variants if v not in arms]
        return tuple(arms)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudySpec:
        d = dict(d)
        parts: dict[str, Any] = {}
        for key, sub in (("data", DataSpec), ("train", TrainSpec), ("compute", ComputeStudy),
                         ("data_study", DataStudy), ("lr", LRStage)):
            value = d.pop(key, None)
            parts[key] = None if value is None else _build(sub, value, key)
        if parts["data"] is None:
            raise EqscaleError("study spec has no 'data' section")
        if parts["train"] is None:
            parts["train"] = TrainSpec()
        return _build(cls, {**d, **parts}, "study")


def _build(cls: type, values: Any, where: str) -> Any:
    """``cls(**values)`` with a one-line error for unknown, missing or mistyped keys."""
    if not isinstance(values, dict):
        raise EqscaleError(f"study spec section {where!r} must be a JSON object")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise EqscaleError(f"unknown keys in study spec section {where!r}: {unknown}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise EqscaleError(f"study spec section {where!r}: {exc}") from None
