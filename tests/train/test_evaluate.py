"""``eqscale evaluate``: GATr's loss is unchanged on a moved copy of the test set, the
baseline's is not; rollout and equivariance errors; bad run directories."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from eqscale import cli
from eqscale.errors import CheckpointError, DatasetError
from eqscale.train.data_access import open_split
from eqscale.train.evaluate import evaluate_run
from eqscale.train.loop import run_training
from tests.train.helpers import moved_copy, tiny

MOTION = dict(rotation_wxyz=(0.3, -0.5, 0.7, 0.2), translation=(0.7, -1.2, 0.4))


@pytest.fixture(scope="module")
def moved_dataset(tiny_dataset, tmp_path_factory):
    return moved_copy(tiny_dataset, tmp_path_factory.mktemp("moved") / "data", "test", **MOTION)


@pytest.fixture(scope="module")
def trained(tiny_dataset, tmp_path_factory):
    """A short run of each model (module scope: trained once for the tests below)."""
    runs = {}
    for model in ("gatr", "transformer"):
        out = tmp_path_factory.mktemp(model) / "run"
        runs[model] = (out, run_training(tiny(model=model, steps=6, eval_every=3),
                                         tiny_dataset, out, quiet=True))
    return runs


def test_moved_copy_really_moves_the_test_split(tiny_dataset, moved_dataset):
    import torch

    a = open_split(tiny_dataset, "test").batch([0], torch.device("cpu"))
    b = open_split(moved_dataset, "test").batch([0], torch.device("cpu"))
    real = a["vert_mask"] & a["object_mask"][..., None]
    moved = (a["verts_t"] - b["verts_t"]).norm(dim=-1)[real]
    assert moved.min() > 0.1  # no vertex stays put
    # ... rigidly: pairwise distances within each object are kept.
    pa, pb = a["verts_t"][0, 0][real[0, 0]], b["verts_t"][0, 0][real[0, 0]]
    assert torch.allclose(torch.cdist(pa, pa), torch.cdist(pb, pb), atol=1e-4)


def test_gatr_is_invariant_on_a_moved_test_set_and_the_baseline_is_not(
        trained, tiny_dataset, moved_dataset):
    for model, (run, result) in trained.items():
        here = evaluate_run(run, tiny_dataset)
        there = evaluate_run(run, moved_dataset)
        assert here["test_loss"] == pytest.approx(result["test_loss"], rel=1e-6)
        change = abs(there["test_loss"] - here["test_loss"]) / here["test_loss"]
        rollout_change = abs(there["rollout_error"] - here["rollout_error"]) / here[
            "rollout_error"]
        if model == "gatr":
            assert change < 1e-4 and rollout_change < 1e-3, (change, rollout_change)
            assert result["equivariance_error"] < 1e-4
        else:
            assert change > 1e-3, change
            assert result["equivariance_error"] > 1e-3


def _evaluate(run, data, split="test", as_json=False):
    """``eqscale evaluate`` as a user runs it; bad input raises the one-line error."""
    args = cli.build_parser().parse_args(["evaluate", "--run", str(run), "--data", str(data),
                                          "--split", split] + (["--json"] if as_json else []))
    return args.handler(args)


def test_evaluate_prints_json_and_tables(trained, tiny_dataset, capsys):
    run, result = trained["transformer"]
    _evaluate(run, tiny_dataset, as_json=True)
    out = json.loads(capsys.readouterr().out)
    assert out["test_loss"] == pytest.approx(result["test_loss"], rel=1e-6)
    assert len(out["rollout_error_per_horizon"]) == open_split(tiny_dataset, "test").frames - 2
    for key in ("constant_velocity_loss", "rigid_constant_velocity_loss", "no_motion_loss", "skill",
                "constant_velocity_rollout_error"):
        assert out[key] == pytest.approx(result[key], rel=1e-6)
    _evaluate(run, tiny_dataset, split="val")
    table = capsys.readouterr().out
    assert "rollout error" in table and "val of" in table and "constant velocity" in table


def test_bad_run_directories_are_one_line_user_errors(trained, tiny_dataset, tmp_path):
    with pytest.raises(CheckpointError, match="not a run directory"):
        _evaluate(tmp_path, tiny_dataset)
    run, _ = trained["transformer"]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((run / "config.json").read_text())
    (broken / "checkpoints").mkdir()
    (broken / "checkpoints" / "best.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="corrupt") as exc:
        _evaluate(broken, tiny_dataset)
    assert "\n" not in str(exc.value)
    with pytest.raises(DatasetError):
        _evaluate(run, tmp_path / "no-such-dataset")


class StandStill(torch.nn.Module):
    """A 'model' predicting no motion: a rollout then keeps every object at its frame-1 pose."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, batch):
        from eqscale.models.rigidity import RigidMotion

        b, k = batch["object_mask"].shape
        eye = torch.eye(3).expand(b, k, 3, 3)
        return RigidMotion(eye, torch.zeros(b, k, 3))


def test_rollout_feeds_predictions_back_and_scores_each_horizon(tiny_dataset):
    from eqscale.models.loss import task_loss
    from eqscale.train.evaluate import rollout_errors

    data = open_split(tiny_dataset, "test")
    cpu = torch.device("cpu")
    errors = rollout_errors(StandStill(), data, [0, 2, 3], batch_size=2, device=cpu)
    traj = data.trajectory_batch([0, 2, 3], cpu)
    frames = traj.pop("verts")
    n = traj["object_mask"].sum()
    for h, err in enumerate(errors, start=1):
        expected = task_loss(frames[:, 1], {**traj, "verts_next": frames[:, 1 + h]})
        assert err == pytest.approx(float(expected), rel=1e-5), h
    assert len(errors) == data.frames - 2 and n > 0 and errors[-1] > errors[0]


def test_dataset_loss_does_not_depend_on_the_batch_size(trained, tiny_dataset):
    from eqscale.models import build_model
    from eqscale.train.evaluate import dataset_loss, evenly_spaced

    torch.manual_seed(0)
    model = build_model("transformer", 0, open_split(tiny_dataset, "test").faces_per_object)
    data = open_split(tiny_dataset, "test")
    idx = evenly_spaced(len(data), 20)
    assert len(idx) == 20 and idx[0] == 0 and idx[-1] == len(data) - 1
    cpu = torch.device("cpu")
    a = dataset_loss(model, data, idx, 3, cpu)
    assert a == pytest.approx(dataset_loss(model, data, idx, 20, cpu), rel=1e-6)
    moved = dataset_loss(model, data, idx, 3, cpu, transform_seed=1)
    assert moved == pytest.approx(dataset_loss(model, data, idx, 20, cpu, transform_seed=1),
                                  rel=1e-6)
    assert abs(moved - a) > 1e-3 * a  # the baseline is not invariant


def test_references_are_scored_on_the_same_samples(trained, tiny_dataset):
    """Over the whole test split the reference losses equal those `inspect` computes (a numpy
    implementation of the same predictors); a run's skill is 1 - L / L_cv on its samples."""
    from eqscale.data.inspect import validate_dataset
    from eqscale.models import build_model
    from eqscale.train.evaluate import dataset_losses

    refs = validate_dataset(tiny_dataset)["references"]["test"]
    test = open_split(tiny_dataset, "test")
    model = build_model("transformer", 0, test.faces_per_object)
    every = dataset_losses(model, test, list(range(len(test))), 8, torch.device("cpu"),
                           references=True)
    for name in ("constant_velocity_loss", "rigid_constant_velocity_loss", "no_motion_loss"):
        assert every[name] == pytest.approx(refs[name], rel=1e-5)
    for run, result in trained.values():
        assert result["skill"] == pytest.approx(
            1 - result["test_loss"] / result["constant_velocity_loss"])
        cv_h = result["constant_velocity_rollout_error_per_horizon"]
        assert cv_h[-1] > cv_h[0] > 0  # extrapolation errors grow with the horizon
        again = evaluate_run(run, tiny_dataset)
        assert again["constant_velocity_loss"] == result["constant_velocity_loss"]


def test_training_saves_object_tracks_of_its_rollout(trained, tiny_dataset, moved_dataset):
    """rollout.json (eqscale.rollouts): true, predicted and constant-velocity centroid tracks of
    the first rollout trajectories; frames 0 and 1 are the truth, the rest predicted. `evaluate`
    on the run's own test split rewrites the same file; on another dataset it leaves it be."""
    from eqscale.rollouts import ROLLOUT_FILE, read_rollout

    frames = open_split(tiny_dataset, "test").frames
    for model, (run, result) in trained.items():
        record = read_rollout(run / ROLLOUT_FILE)
        assert record["model"] == model and record["split"] == "test"
        assert record["frame_rate"] > 0
        assert 1 <= len(record["trajectories"]) <= min(3, result["rollout_trajectories"])
        for t in record["trajectories"]:
            true, pred, cv = (np.array(t[k], dtype=float)
                              for k in ("true", "predicted", "constant_velocity"))
            assert true.shape == pred.shape == cv.shape and true.shape[0] == frames
            assert true.shape[1] >= 1 and true.shape[2] == 3
            np.testing.assert_array_equal(pred[:2], true[:2])
            np.testing.assert_allclose(cv[2], 2 * true[1] - true[0], atol=1e-5)
            assert np.abs(pred[2:] - true[2:]).max() > 0  # predicted, not copied
            assert t["gravity"] == pytest.approx([0, 0, -10])
        before = (run / ROLLOUT_FILE).read_text()
        (run / ROLLOUT_FILE).unlink()
        assert evaluate_run(run, tiny_dataset)["rollout_file"] == str(run / ROLLOUT_FILE)
        assert (run / ROLLOUT_FILE).read_text() == before  # the same rollout, deterministic
        assert evaluate_run(run, moved_dataset)["rollout_file"] is None
        assert evaluate_run(run, tiny_dataset, split="val")["rollout_file"] is None
        assert (run / ROLLOUT_FILE).read_text() == before


def test_rollout_tracks_follow_the_fed_back_prediction(tiny_dataset):
    """A model predicting no motion keeps every centroid at frame 1 for the whole rollout."""
    from eqscale.train.evaluate import rollout_tracks

    data = open_split(tiny_dataset, "test")
    tracks = rollout_tracks(StandStill(), data, [1, 3], torch.device("cpu"))
    assert [t["index"] for t in tracks] == [1, 3]
    for t in tracks:
        true, pred = np.array(t["true"]), np.array(t["predicted"])
        np.testing.assert_allclose(pred[2:], np.broadcast_to(true[1], pred[2:].shape),
                                   atol=1e-5)
        assert np.abs(true[-1] - true[1]).max() > 1e-3  # the true objects did move
