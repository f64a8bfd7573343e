"""The training loop: run directory contents, overfitting, budgets, augmentation, failures."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from eqscale.cli import main
from eqscale.errors import EqscaleError
from eqscale.train.budget import sample_cost
from eqscale.train.data_access import open_split
from eqscale.train.loop import run_training
from tests.train.helpers import read_result, tiny, train_losses

# The keys docs/interfaces.md promises in result.json.
RESULT_KEYS = {
    "model", "size", "N", "D", "steps", "batch_size", "budget", "budget_convention",
    "flops_nominal", "flops_executed", "wall_seconds", "device", "best_val_loss", "test_loss",
    "rollout_error", "equivariance_error", "augment", "train_subset", "seed", "status", "reason",
}


def test_a_run_writes_every_field_of_the_run_directory(tiny_dataset, tmp_path, caplog):
    out = tmp_path / "run"
    result = run_training(tiny(model="gatr", steps=6, eval_every=3), tiny_dataset, out,
                          quiet=True)
    assert RESULT_KEYS <= set(result) and read_result(out) == result
    assert result["status"] == "finished" and result["reason"] is None
    assert result["steps"] == 6 and result["D"] == 6 * result["batch_size"]
    assert result["N"] > 0 and result["flops_nominal"] > 0 and result["flops_executed"] > 0
    for key in ("best_val_loss", "test_loss", "rollout_error", "equivariance_error"):
        assert result[key] >= 0 and result[key] == result[key]
    assert len(result["rollout_error_per_horizon"]) == open_split(tiny_dataset, "test").frames - 2
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["model"] == "gatr" and config["planned_steps"] == 6
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "train"] == list(range(1, 7))
    assert [r["step"] for r in records if r["kind"] == "val"] == [3, 6]
    assert {p.name for p in (out / "checkpoints").iterdir()} == {"best.pt", "last.pt"}
    story = (out / "train.log").read_text()  # the run's own log: validations and the end
    assert "step 3/6: validation loss" in story and "step 6/6" in story
    assert f"run {out} finished" in story

    # Started again: says so and touches nothing.
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    with caplog.at_level(logging.INFO, logger="eqscale"):
        again = run_training(tiny(model="gatr", steps=6, eval_every=3), tiny_dataset, out)
    assert again == result and "already finished" in caplog.text
    assert stamp == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    # ... but a different config in the same directory is refused.
    with pytest.raises(EqscaleError, match="different config"):
        run_training(tiny(model="gatr", steps=7, eval_every=3), tiny_dataset, out, quiet=True)


def test_budget_buys_floor_of_budget_over_step_cost(tiny_dataset, tmp_path):
    train = open_split(tiny_dataset, "train")
    cost = sample_cost("transformer", 0, train.mean_objects, train.faces_per_object,
                       slots=train.object_slots)
    # Executed FLOPs charge the padded object slots the model runs on; nominal the real objects.
    assert train.object_slots == 10 and train.mean_objects < train.object_slots
    assert cost.executed > sample_cost("transformer", 0, train.mean_objects,
                                       train.faces_per_object).executed
    cfg = tiny(model="transformer", budget=cost.nominal * 4 * 5.5, batch_size=4, eval_every=100)
    result = run_training(cfg, tiny_dataset, tmp_path / "run", quiet=True)
    assert result["steps"] == 5 and result["budget"] == cfg.budget
    assert result["flops_nominal"] == pytest.approx(cost.nominal * 20)
    assert result["flops_executed"] == pytest.approx(cost.executed * 20)
    assert result["flops_nominal"] <= cfg.budget
    # The executed convention buys a different number of steps for the same budget.
    executed = tiny(model="transformer", budget=cost.executed * 4 * 3.2, batch_size=4,
                    budget_convention="executed", eval_every=100)
    assert run_training(executed, tiny_dataset, tmp_path / "exe", quiet=True)["steps"] == 3


def test_impossible_budget_and_missing_data_exit_2_with_one_line(tiny_dataset, tmp_path,
                                                                  capsys):
    code = main(["train", "--model", "gatr", "--preset", "tiny", "--budget", "1",
                 "--data", str(tiny_dataset), "--out", str(tmp_path / "a"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "below the cost of one step" in err and err.count("\n") == 1
    code = main(["train", "--model", "gatr", "--preset", "tiny", "--data",
                 str(tmp_path / "nothing"), "--out", str(tmp_path / "b"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "nothing" in err and err.count("\n") == 1
    # A corrupt array file in an otherwise complete dataset.
    import shutil

    broken = shutil.copytree(tiny_dataset, tmp_path / "broken")
    victim = sorted((broken / "train").rglob("positions.npy"))[0]
    victim.write_bytes(victim.read_bytes()[:100])
    code = main(["train", "--model", "gatr", "--preset", "tiny", "--data", str(broken),
                 "--out", str(tmp_path / "c"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "positions.npy" in err and err.count("\n") == 1


def test_corrupt_checkpoint_exits_2(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--model", "transformer", "--preset", "tiny", "--steps", "4",
            "--data", str(tiny_dataset), "--out", str(out), "--quiet"]
    # A run killed after its first checkpoint: last.pt exists, result.json does not.
    run_training(tiny(model="transformer", steps=4, eval_every=2), tiny_dataset, tmp_path / "x",
                 quiet=True)
    out.mkdir()
    (out / "checkpoints").mkdir()
    (out / "checkpoints" / "last.pt").write_bytes(b"\x80\x02 not a checkpoint")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "corrupt" in err and err.count("\n") == 1


def test_non_finite_loss_ends_the_run_as_failed(tiny_dataset, tmp_path, monkeypatch):
    from eqscale.models import loss as loss_mod

    real = loss_mod.task_loss
    calls = {"n": 0}

    def poisoned(pred, batch):
        calls["n"] += 1
        value = real(pred, batch)
        return value * float("nan") if calls["n"] == 3 else value

    monkeypatch.setattr(loss_mod, "task_loss", poisoned)
    out = tmp_path / "run"
    result = run_training(tiny(model="transformer", steps=8, eval_every=100), tiny_dataset, out,
                          quiet=True)
    assert result["status"] == "failed" and "non-finite training loss" in result["reason"]
    assert "step 3" in result["reason"] and result["steps"] == 2 and result["test_loss"] is None
    assert read_result(out) == result


def test_augmentation_moves_what_the_model_sees(tiny_dataset, tmp_path, monkeypatch):
    from eqscale.train import evaluate

    seen: list[torch.Tensor] = []
    real = evaluate.batch_loss

    def spy(model, batch):
        if model.training:
            seen.append(batch["gravity"].detach().clone())
        return real(model, batch)

    monkeypatch.setattr(evaluate, "batch_loss", spy)
    monkeypatch.setattr("eqscale.train.loop.batch_loss", spy)
    run_training(tiny(model="transformer", steps=3, eval_every=100), tiny_dataset,
                 tmp_path / "plain", quiet=True)
    plain = torch.cat(seen)
    seen.clear()
    run_training(tiny(model="transformer", steps=3, eval_every=100, augment=True), tiny_dataset,
                 tmp_path / "aug", quiet=True)
    augmented = torch.cat(seen)
    down = torch.tensor([0.0, 0.0, -1.0], dtype=plain.dtype)
    g = plain.norm(dim=-1, keepdim=True)
    assert torch.allclose(plain / g, down.expand_as(plain), atol=1e-6)
    # Augmented gravity keeps its length, points in random directions.
    assert torch.allclose(augmented.norm(dim=-1), plain.norm(dim=-1), rtol=1e-5)
    cosines = (augmented / augmented.norm(dim=-1, keepdim=True)) @ down
    assert cosines.min() < 0.5 and len(set(cosines.round(decimals=4).tolist())) > 3


# Settings that overfit one trajectory (23 samples) in seconds of CPU time. GATr size 0 learns
# more slowly per step than the baseline and levels off near 5e-3 (from 5e-2): 600 steps at
# batch 2 give it ~11x, 400 steps ~8x; the baseline gets ~18x in 80 steps.
OVERFIT = {"transformer": dict(steps=120, batch_size=4, lr=3e-3),
           "gatr": dict(steps=600, batch_size=2, lr=3e-3)}


@pytest.mark.parametrize("model", ["transformer", "gatr"])
def test_both_models_overfit_a_tiny_dataset(tiny_dataset, tmp_path, model):
    cfg = tiny(model=model, train_subset=1, eval_every=1000, warmup_fraction=0.05,
               min_lr_ratio=0.05, **OVERFIT[model])
    run_training(cfg, tiny_dataset, tmp_path / model, quiet=True)
    losses = train_losses(tmp_path / model)
    epoch = -(-23 // cfg.batch_size)  # steps per pass over the trajectory's 23 samples
    start = sum(losses[:epoch]) / epoch
    end = sum(losses[-epoch:]) / epoch
    # Both start near the rigid constant-velocity prior, whose error on one trajectory sits
    # mostly in its few collision frames: memorising those cuts the loss by more than 3x.
    assert end * 3 <= start, (model, start, end)


def test_command_line_gatr_tiny_run_is_complete(tiny_dataset, tmp_path):
    """The acceptance run: `eqscale train --model gatr --preset tiny` in a fresh process."""
    from tests.train.helpers import run_cli

    out = tmp_path / "run"
    proc = run_cli("train", "--model", "gatr", "--preset", "tiny", "--data", str(tiny_dataset),
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    result = read_result(out)
    assert RESULT_KEYS <= set(result) and result["status"] == "finished"
    assert all(result[k] is not None for k in RESULT_KEYS - {"budget", "train_subset", "reason"})
    assert "finished" in proc.stdout


def test_early_stopping_keeps_the_best_validation_checkpoint(tiny_dataset, tmp_path,
                                                             monkeypatch):
    from eqscale.train.checkpoint import load_checkpoint
    from eqscale.train.evaluate import evaluate_run

    # Validation losses at steps 2, 4, 6, ...: best at step 4, then three without improvement.
    scripted = iter([1.0, 0.5, 0.6, 0.55, 0.7, 0.1, 0.1])
    monkeypatch.setattr("eqscale.train.loop.dataset_losses",
                        lambda *a, **k: {"loss": next(scripted), "constant_velocity_loss": 1.0})
    cfg = tiny(model="transformer", steps=20, eval_every=2, patience=3, checkpoint_every=100)
    out = tmp_path / "run"
    result = run_training(cfg, tiny_dataset, out, quiet=True)
    assert result["stopped_early"] and result["steps"] == 10 and result["planned_steps"] == 20
    assert result["D"] == 10 * cfg.batch_size
    assert result["best_val_loss"] == 0.5 and result["best_step"] == 4
    assert load_checkpoint(out / "checkpoints" / "best.pt")["step"] == 4
    assert load_checkpoint(out / "checkpoints" / "last.pt")["state"]["step"] == 10
    # The reported test loss is the best checkpoint's (what evaluate_run loads).
    assert evaluate_run(out, tiny_dataset)["test_loss"] == pytest.approx(result["test_loss"],
                                                                         rel=1e-6)


def test_loader_worker_processes_do_not_change_the_run(tiny_dataset, tmp_path):
    inline = tiny(model="transformer", steps=5, eval_every=100, augment=True)
    workers = tiny(model="transformer", steps=5, eval_every=100, augment=True, data_workers=2)
    assert inline.identity() == workers.identity()
    run_training(inline, tiny_dataset, tmp_path / "inline", quiet=True)
    run_training(workers, tiny_dataset, tmp_path / "workers", quiet=True)
    assert train_losses(tmp_path / "inline") == train_losses(tmp_path / "workers")


def test_an_error_leaves_its_traceback_in_the_runs_log(tiny_dataset, tmp_path, monkeypatch):
    """What went wrong stays in the run directory (train.log), whichever process trained it."""
    from eqscale.train import loop

    def broken(*args, **kwargs):
        raise RuntimeError("evaluation exploded")

    monkeypatch.setattr(loop, "evaluate_model", broken)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="exploded"):
        run_training(tiny(model="transformer", steps=2, eval_every=2), tiny_dataset, out,
                     quiet=True)
    story = (out / "train.log").read_text()
    assert "the run stopped with an error" in story and "Traceback" in story
    assert "RuntimeError: evaluation exploded" in story and "step 2/2" in story
