"""Evaluation of a trained model (SPEC 3): test loss, autoregressive rollout, equivariance.

- loss: the task loss over a set of samples, as one mean over all their real objects (batches
  are combined weighted by their object counts, so the value does not depend on batch size);
- reference losses: constant velocity and no motion (:mod:`eqscale.models.reference`) scored on
  the same samples, and the model's skill ``1 - loss / constant_velocity_loss``;
- rollout error: from the true frames 0 and 1 of each trajectory, predict frame 2, feed the
  prediction back (faces rebuilt with ``faces_from_verts``) and continue to the last frame; the
  error at horizon h is the task loss of the predicted frame 1 + h against the truth;
- equivariance error: ``|loss(g . inputs, g . targets) - loss| / loss`` for random proper E(3)
  elements g (rotation + translation, one per sample), averaged over draws. Zero for an exactly
  equivariant model up to float error; large for the baseline.
Everything runs in float32 without autocast: these numbers should not carry bf16 noise.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from eqscale.train.data_access import SplitData

# Seed offset of the equivariance-test transforms (fixed: every run is tested on the same ones).
EQUIVARIANCE_SEED = 20241031


def evenly_spaced(n: int, k: int | None) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (all of them when k is None or >= n)."""
    if k is None or k >= n:
        return list(range(n))
    return torch.linspace(0, n - 1, k).round().long().unique().tolist()


def batch_loss(model: torch.nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """Task loss of one batch and its weight (number of real objects)."""
    from eqscale.models import loss as loss_mod
    from eqscale.models.rigidity import apply_motion

    motion = model(batch)
    pred = apply_motion(motion, batch["verts_t"].to(motion.rotation.dtype))
    return loss_mod.task_loss(pred.float(), batch), batch["object_mask"].sum()


@torch.no_grad()
def dataset_losses(model: torch.nn.Module, data: SplitData, indices: list[int], batch_size: int,
                   device: torch.device, transform_seed: int | None = None,
                   references: bool = False) -> dict[str, float]:
    """Mean task loss over the samples ``indices`` (over all their real objects): ``{"loss": L}``,
    plus ``<name>_loss`` of every reference predictor on the same samples when ``references``.

    With ``transform_seed``, every sample is first moved by a random proper E(3) element drawn
    from a generator seeded by (transform_seed, sample index).
    """
    from eqscale.models import loss as loss_mod
    from eqscale.models.reference import REFERENCES

    was_training = model.training
    model.eval()
    names = ["loss"] + ([f"{name}_loss" for name in REFERENCES] if references else [])
    totals, weight = dict.fromkeys(names, 0.0), 0
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        batch = data.batch(chunk, device)
        if transform_seed is not None:
            batch = data.random_proper_motion(batch, chunk, transform_seed)
        loss, w = batch_loss(model, batch)
        totals["loss"] += float(loss) * int(w)
        if references:
            for name, predict in REFERENCES.items():
                ref = loss_mod.task_loss(predict(batch).float(), batch)
                totals[f"{name}_loss"] += float(ref) * int(w)
        weight += int(w)
    model.train(was_training)
    return {name: total / weight for name, total in totals.items()}


def dataset_loss(model: torch.nn.Module, data: SplitData, indices: list[int], batch_size: int,
                 device: torch.device, transform_seed: int | None = None) -> float:
    """The model's mean task loss over the samples ``indices`` (see :func:`dataset_losses`)."""
    return dataset_losses(model, data, indices, batch_size, device, transform_seed)["loss"]


@torch.no_grad()
def rollout_errors(model: torch.nn.Module | None, data: SplitData, trajectories: list[int],
                   batch_size: int, device: torch.device) -> list[float]:
    """Per-horizon rollout error (horizon h = 1 .. F - 2) over ``trajectories``.

    Frames 0 and 1 are true; the prediction of frame t + 1 is made from frames t - 1 and t,
    which are predictions themselves from t = 2 on. ``model=None`` rolls out the
    constant-velocity reference instead (from the same two true frames).
    """
    from eqscale.models import loss as loss_mod
    from eqscale.models.reference import constant_velocity
    from eqscale.models.rigidity import apply_motion

    was_training = model is not None and model.training
    if model is not None:
        model.eval()
    horizons = data.frames - 2
    sums = [0.0] * horizons
    weight = 0
    for start in range(0, len(trajectories), batch_size):
        traj = data.trajectory_batch(trajectories[start:start + batch_size], device)
        true_verts = traj.pop("verts")  # (B, F, K, V, 3)
        n = int(traj["object_mask"].sum())
        weight += n
        prev, cur = true_verts[:, 0], true_verts[:, 1]
        for h in range(horizons):
            t = h + 1
            batch = {**traj, "verts_prev": prev, "verts_t": cur, "verts_next": true_verts[:, t + 1],
                     "faces_prev": data.faces_from_verts(prev, traj["face_index"]),
                     "faces_t": data.faces_from_verts(cur, traj["face_index"])}
            if model is None:
                pred = constant_velocity(batch).float()
            else:
                motion = model(batch)
                pred = apply_motion(motion, cur.to(motion.rotation.dtype)).float()
            sums[h] += float(loss_mod.task_loss(pred, batch)) * n
            if not bool(torch.isfinite(pred).all()):  # diverged: nothing left to feed back
                sums[h + 1:] = [math.nan] * (horizons - h - 1)
                break
            prev, cur = cur, pred.to(cur.dtype)
    if model is not None:
        model.train(was_training)
    return [s / weight for s in sums]


def evaluate_model(model: torch.nn.Module, data: SplitData, config: Any,
                   device: torch.device) -> dict[str, Any]:
    """Test loss, rollout and equivariance errors of ``model`` on a split (result.json keys)."""
    from eqscale.models.reference import skill

    indices = evenly_spaced(len(data), config.test_samples)
    losses = dataset_losses(model, data, indices, config.eval_batch_size, device,
                            references=True)
    loss = losses["loss"]
    trajs = evenly_spaced(data.trajectories, config.rollout_trajectories)
    per_horizon = rollout_errors(model, data, trajs, config.eval_batch_size, device)
    cv_horizon = rollout_errors(None, data, trajs, config.eval_batch_size, device)
    eq = []
    for k in range(config.equivariance_transforms):
        moved = dataset_loss(model, data, indices, config.eval_batch_size, device,
                             transform_seed=EQUIVARIANCE_SEED + k)
        eq.append(abs(moved - loss) / loss if loss else math.nan)
    return {
        "test_loss": loss,
        "constant_velocity_loss": losses["constant_velocity_loss"],
        "rigid_constant_velocity_loss": losses["rigid_constant_velocity_loss"],
        "no_motion_loss": losses["no_motion_loss"],
        "skill": skill(loss, losses["constant_velocity_loss"]),
        "rollout_error": sum(per_horizon) / len(per_horizon),
        "rollout_error_per_horizon": per_horizon,
        "constant_velocity_rollout_error": sum(cv_horizon) / len(cv_horizon),
        "constant_velocity_rollout_error_per_horizon": cv_horizon,
        "equivariance_error": sum(eq) / len(eq) if eq else None,
        "test_samples": len(indices),
        "rollout_trajectories": len(trajs),
    }


def evaluate_run(run: str | Path, data: str | Path, split: str = "test",
                 device: str | None = None) -> dict[str, Any]:
    """Evaluate a run directory's best checkpoint on a split of any dataset."""
    from eqscale.errors import CheckpointError
    from eqscale.models import build_model
    from eqscale.train.checkpoint import load_checkpoint
    from eqscale.train.config import TrainConfig
    from eqscale.train.data_access import open_split
    from eqscale.train.distributed import DistContext, resolve_device

    run = Path(run)
    cfg_path = run / "config.json"
    if not cfg_path.is_file():
        raise CheckpointError(f"{run} is not a run directory (no config.json)")
    try:
        stored = json.loads(cfg_path.read_text())
        config = TrainConfig.from_dict(stored["config"])
        faces_per_object = int(stored["faces_per_object"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise CheckpointError(f"{cfg_path} is corrupt") from None
    dev = resolve_device(device, DistContext())
    split_data = open_split(data, split)
    if split_data.faces_per_object != faces_per_object:
        from eqscale.errors import DatasetError

        raise DatasetError(
            f"dataset {data} has {split_data.faces_per_object} faces per object but the run was "
            f"trained with {faces_per_object}"
        )
    torch.manual_seed(config.seed)
    model = build_model(config.model, config.size, faces_per_object).to(dev)
    best = load_checkpoint(run / "checkpoints" / "best.pt", dev)
    try:
        model.load_state_dict(best["model"])
    except RuntimeError:
        raise CheckpointError(f"{run / 'checkpoints' / 'best.pt'} does not fit the run's "
                              "model") from None
    out = evaluate_model(model, split_data, config, dev)
    out.update(run=str(run), data=str(data), split=split, model=config.model, size=config.size,
               best_step=best.get("step"))
    return out


def evaluate_from_cli(run: str, data: str, split: str, as_json: bool,
                      device: str | None) -> dict[str, Any]:
    """``eqscale evaluate``: print a table (or JSON) of a run's evaluation."""
    out = evaluate_run(run, data, split, device)
    if as_json:
        from eqscale.jsonsafe import json_safe

        print(json.dumps(json_safe(out), indent=2, allow_nan=False))
    else:
        rows = [("run", out["run"]), ("model", f"{out['model']} size {out['size']}"),
                ("split", f"{split} of {data}"), ("loss", f"{out['test_loss']:.6g}"),
                ("constant velocity", f"{out['constant_velocity_loss']:.6g} (skill "
                 f"{out['skill']:+.3f}: 1 - loss / constant-velocity loss)"),
                ("rigid constant velocity", f"{out['rigid_constant_velocity_loss']:.6g}"),
                ("no motion", f"{out['no_motion_loss']:.6g}"),
                ("rollout error", f"{out['rollout_error']:.6g}"),
                ("equivariance error", f"{out['equivariance_error']:.3g}"
                 if out["equivariance_error"] is not None else "-")]
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
    return out
