"""TrainConfig: validation of bad input, presets and overrides, JSON round trip."""

import pytest

from eqscale.errors import EqscaleError
from eqscale.train.config import PRESETS, TrainConfig, make_config


def test_presets_build_and_round_trip_through_json_form():
    for name in PRESETS:
        cfg = make_config(name, model="gatr")
        assert cfg.preset == name and cfg.model == "gatr"
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_overrides_replace_preset_values_and_none_keeps_them():
    cfg = make_config("tiny", lr=0.5, batch_size=None, seed=3)
    assert cfg.lr == 0.5 and cfg.seed == 3
    assert cfg.batch_size == PRESETS["tiny"]["batch_size"]


def test_budget_replaces_the_presets_step_count():
    cfg = make_config("tiny", budget=1e12)
    assert cfg.steps is None and cfg.budget == 1e12


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(model="mlp", steps=1),
        dict(steps=0),
        dict(budget=-1.0),
        dict(steps=3, budget=1e9),
        dict(),
        dict(steps=1, batch_size=0),
        dict(steps=1, budget_convention="made-up"),
        dict(steps=1, train_subset=0),
        dict(steps=1, lr=0.0),
    ],
)
def test_bad_values_are_user_errors(kwargs):
    with pytest.raises(EqscaleError):
        TrainConfig(**kwargs)


def test_unknown_preset_and_unknown_keys_are_user_errors():
    with pytest.raises(EqscaleError, match="preset"):
        make_config("enormous")
    with pytest.raises(EqscaleError, match="unknown training config keys"):
        TrainConfig.from_dict({"steps": 1, "colour": "red"})


def test_identity_ignores_device_but_not_seed():
    a = make_config("tiny", device="cpu")
    assert a.identity() == make_config("tiny", device="cuda").identity()
    assert a.identity() != make_config("tiny", seed=1).identity()
