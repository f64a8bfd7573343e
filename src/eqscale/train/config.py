"""Training configuration: one frozen dataclass, named presets, and the JSON form of a run.

A run is defined by its :class:`TrainConfig`; ``config.json`` in the run directory is its JSON
form, and restarting a run with a different config is refused rather than silently mixed.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from eqscale.errors import EqscaleError
from eqscale.models.registry import architecture
from eqscale.train.budget import MAX_STEPS

BUDGET_CONVENTIONS = ("nominal", "executed")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (device excepted, see ``IDENTITY_EXCLUDED``).

    Length: exactly one of ``steps`` and ``budget`` (FLOPs, in ``budget_convention``) is set;
    :func:`eqscale.train.budget.steps_for_budget` turns a budget into steps.
    """

    model: str = "transformer"
    size: int = 0
    steps: int | None = None
    budget: float | None = None
    budget_convention: str = "nominal"
    batch_size: int = 8
    # AdamW, linear warmup then cosine decay to min_lr_ratio * lr at the run's own horizon.
    lr: float = 1e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    warmup_fraction: float = 0.05
    min_lr_ratio: float = 0.01
    grad_clip: float = 1.0
    # Validation every eval_every steps on at most val_samples samples (None: whole split);
    # stop after `patience` validations without improvement (None: never stop early).
    eval_every: int = 100
    val_samples: int | None = 512
    patience: int | None = 5
    checkpoint_every: int = 100
    # Final evaluation on the test split of the best checkpoint.
    test_samples: int | None = None
    rollout_trajectories: int | None = 16
    equivariance_transforms: int = 2
    eval_batch_size: int = 32
    data_workers: int = 0  # DataLoader worker processes (0: load in the training process)
    augment: bool = False
    # torch.compile the training step: True, False, or None for the default (on CUDA only)
    compile: bool | None = None
    train_subset: int | None = None
    seed: int = 0
    device: str | None = None
    preset: str | None = None

    def __post_init__(self) -> None:
        architecture(self.model)  # an unknown name is a one-line error listing the known ones
        if self.budget_convention not in BUDGET_CONVENTIONS:
            raise EqscaleError(
                f"unknown budget convention {self.budget_convention!r}; "
                f"choose one of {BUDGET_CONVENTIONS}"
            )
        if (self.steps is None) == (self.budget is None):
            raise EqscaleError("give exactly one of steps and budget")
        if self.steps is not None and not 1 <= self.steps <= MAX_STEPS:
            raise EqscaleError(f"steps must be between 1 and {MAX_STEPS:.0e}, got {self.steps}")
        if self.budget is not None and not (self.budget > 0 and math.isfinite(self.budget)):
            raise EqscaleError(f"budget must be a positive, finite number of FLOPs, "
                               f"got {self.budget}")
        if self.batch_size < 1:
            raise EqscaleError(f"batch size must be at least 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise EqscaleError(f"learning rate must be positive and finite, got {self.lr}")
        if self.size < 0:
            raise EqscaleError(f"model size index must be >= 0, got {self.size}")
        if self.train_subset is not None and self.train_subset < 1:
            raise EqscaleError(f"train subset must be at least 1, got {self.train_subset}")
        if self.data_workers < 0:
            raise EqscaleError(f"data_workers must be >= 0, got {self.data_workers}")
        if self.eval_every < 1 or self.checkpoint_every < 1:
            raise EqscaleError("eval_every and checkpoint_every must be at least 1")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise EqscaleError(f"warmup fraction must be in [0, 1), got {self.warmup_fraction}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise EqscaleError(f"unknown training config keys: {sorted(unknown)}")
        d = dict(d)
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        return cls(**d)

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a restart to resume this run."""
        d = self.to_dict()
        for key in IDENTITY_EXCLUDED:
            d.pop(key, None)
        return json.loads(json.dumps(d))


# The device and the number of loader processes may change between a kill and a restart (e.g.
# resumed on another machine) without changing the result; the preset name is only a label,
# its values are already expanded into the other fields.
IDENTITY_EXCLUDED = ("device", "preset", "data_workers")

# Named presets: values that override the dataclass defaults. `tiny` is for tests (seconds on
# two cores); `demo` is a laptop-scale run (minutes).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        size=0, steps=30, batch_size=4, lr=3e-3, warmup_fraction=0.1, eval_every=10,
        val_samples=16, patience=None, checkpoint_every=10, test_samples=16,
        rollout_trajectories=2, equivariance_transforms=1, eval_batch_size=8,
    ),
    "demo": dict(
        size=1, steps=400, batch_size=16, lr=1e-3, eval_every=50, val_samples=256, patience=4,
        checkpoint_every=50, test_samples=512, rollout_trajectories=8,
        equivariance_transforms=2, eval_batch_size=32,
    ),
}


def make_config(preset: str | None = None, **overrides: Any) -> TrainConfig:
    """Build a config from a named preset (or the defaults) and explicit overrides.

    An override of ``None`` means "not given" and keeps the preset's value; a budget replaces
    the preset's step count (the two are alternatives).
    """
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise EqscaleError(f"unknown training preset {preset!r}; choose one of {list(PRESETS)}")
        values.update(PRESETS[preset])
        values["preset"] = preset
    given = {k: v for k, v in overrides.items() if v is not None}
    if "budget" in given:
        values.pop("steps", None)
    values.update(given)
    if values.get("steps") is None and values.get("budget") is None:
        raise EqscaleError("give --steps or --budget (or a --preset that sets steps)")
    return TrainConfig(**values)
