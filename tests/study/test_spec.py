"""Study specs: JSON round trips, loading by preset name or file, one-line errors."""

import dataclasses
import json

import pytest

from eqscale.errors import EqscaleError
from eqscale.study.presets import PRESETS, load_study
from eqscale.study.spec import (
    ComputeStudy,
    DataSpec,
    DataStudy,
    LRStage,
    StudySpec,
)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_json(name, tmp_path):
    spec = PRESETS[name]
    path = tmp_path / "study.json"
    path.write_text(json.dumps(spec.to_dict()))
    assert load_study(str(path)) == spec
    assert load_study(name) is spec


def test_paper_preset_is_reference_scale():
    paper = PRESETS["paper"]
    assert paper.data.n_train == 400_000
    # The reference study's budgets span about 1e16 to 1e19 FLOPs.
    assert 1e16 <= min(paper.compute.budgets) <= 3e16
    assert max(paper.compute.budgets) == pytest.approx(1e19)


def test_unknown_study_name_or_file_is_refused(tmp_path):
    with pytest.raises(EqscaleError, match="neither a preset"):
        load_study(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(EqscaleError, match="cannot read"):
        load_study(str(bad))


def test_unknown_and_invalid_keys_are_named(tmp_path):
    d = PRESETS["tiny"].to_dict()
    d["compute"]["budgetz"] = [1.0]
    with pytest.raises(EqscaleError, match="budgetz"):
        StudySpec.from_dict(d)
    d = PRESETS["tiny"].to_dict()
    d["data_study"]["variants"] = ["gatr", "mlp"]
    with pytest.raises(EqscaleError, match="mlp"):
        StudySpec.from_dict(d)
    d = PRESETS["tiny"].to_dict()
    d["train"]["overrides"] = {"steps": 5}
    with pytest.raises(EqscaleError, match="steps"):
        StudySpec.from_dict(d)
    d["train"]["overrides"] = {"learning_rate": 1e-3}
    with pytest.raises(EqscaleError, match="learning_rate"):
        StudySpec.from_dict(d)


def test_invalid_values_are_refused():
    with pytest.raises(EqscaleError, match="budgets"):
        ComputeStudy(budgets=(1e9, -1.0), sizes=(0, 1, 2))
    with pytest.raises(EqscaleError, match="sizes"):
        ComputeStudy(budgets=(1e9,), sizes=(0, 0, 1))
    with pytest.raises(EqscaleError, match="n_train"):
        DataSpec(n_train=0, n_val=1, n_test=1)
    tiny = PRESETS["tiny"]
    with pytest.raises(EqscaleError, match="training trajectories"):
        dataclasses.replace(tiny, data_study=DataStudy(train_sizes=(1000,), size=0, steps=5))
    with pytest.raises(EqscaleError, match="neither"):
        dataclasses.replace(tiny, compute=None, data_study=None)
    with pytest.raises(EqscaleError, match="lr.grid"):
        LRStage(grid=(1e-3, 0.0), steps=5, sizes={"gatr": 0})
    with pytest.raises(EqscaleError, match="lr.sizes names no size for transformer"):
        dataclasses.replace(tiny, lr=LRStage(grid=(1e-3,), steps=5, sizes={"gatr": 0}))
    with pytest.raises(EqscaleError, match="learning_rates"):
        dataclasses.replace(tiny, learning_rates={"mlp": 1e-3})
