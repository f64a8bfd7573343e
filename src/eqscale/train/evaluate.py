"""Evaluation of a trained model: test loss, autoregressive rollout, equivariance.

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from eqscale.train.data_access import SplitData

# Seed offset of the equivariance-test transforms (fixed: every run is tested on the same ones).
EQUIVARIANCE_SEED = 20241031
# Test trajectories whose object tracks go into rollout.json (the first of the rollout's).
TRACKED_TRAJECTORIES = 3


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


def _rollout(model: torch.nn.Module | None, data: SplitData, traj: dict[str, Tensor],
             true_verts: Tensor) -> Iterator[tuple[int, dict[str, Tensor], Tensor]]:
    """Yield ``(h, batch, pred)`` for h = 0 .. F - 3: the prediction of frame h + 2 from the two
    frames before it (true for h = 0, predictions after that). Stops after a prediction that is
    not finite: there is nothing left to feed back. ``model=None``: constant velocity."""
    from eqscale.models.reference import constant_velocity
    from eqscale.models.rigidity import apply_motion

    prev, cur = true_verts[:, 0], true_verts[:, 1]
    for h in range(true_verts.shape[1] - 2):
        t = h + 1
        batch = {**traj, "verts_prev": prev, "verts_t": cur, "verts_next": true_verts[:, t + 1],
                 "faces_prev": data.faces_from_verts(prev, traj["face_index"]),
                 "faces_t": data.faces_from_verts(cur, traj["face_index"])}
        if model is None:
            pred = constant_velocity(batch).float()
        else:
            motion = model(batch)
            pred = apply_motion(motion, cur.to(motion.rotation.dtype)).float()
        yield h, batch, pred
        if not bool(torch.isfinite(pred).all()):
            return
        prev, cur = cur, pred.to(cur.dtype)


@contextmanager
def _eval_mode(model: torch.nn.Module | None) -> Iterator[None]:
    was_training = model is not None and model.training
    if model is not None:
        model.eval()
    try:
        yield
    finally:
        if model is not None:
            model.train(was_training)


@torch.no_grad()
def rollout_errors(model: torch.nn.Module | None, data: SplitData, trajectories: list[int],
                   batch_size: int, device: torch.device) -> list[float]:
    """Per-horizon rollout error (horizon h = 1 .. F - 2) over ``trajectories``.

    Frames 0 and 1 are true; the prediction of frame t + 1 is made from frames t - 1 and t,
    which are predictions themselves from t = 2 on. ``model=None`` rolls out the
    constant-velocity reference instead (from the same two true frames).
    """
    from eqscale.models import loss as loss_mod

    horizons = data.frames - 2
    sums = [0.0] * horizons
    weight = 0
    with _eval_mode(model):
        for start in range(0, len(trajectories), batch_size):
            traj = data.trajectory_batch(trajectories[start:start + batch_size], device)
            true_verts = traj.pop("verts")  # (B, F, K, V, 3)
            n = int(traj["object_mask"].sum())
            weight += n
            for h, batch, pred in _rollout(model, data, traj, true_verts):
                sums[h] += float(loss_mod.task_loss(pred, batch)) * n
                if not bool(torch.isfinite(pred).all()):  # diverged: nothing left to feed back
                    sums[h + 1:] = [math.nan] * (horizons - h - 1)
    return [s / weight for s in sums]


def _centroids(verts: Tensor, vert_mask: Tensor) -> Tensor:
    """Each object's centroid, the mean of its real vertices: (..., K, V, 3) -> (..., K, 3)."""
    w = vert_mask.to(verts.dtype)[..., None]
    return (verts * w).sum(-2) / w.sum(-2).clamp(min=1.0)


@torch.no_grad()
def rollout_tracks(model: torch.nn.Module, data: SplitData, trajectories: list[int],
                   device: torch.device) -> list[dict[str, Any]]:
    """Object centroid tracks of ``trajectories`` (:mod:`eqscale.rollouts`): the truth, the
    model's autoregressive rollout (the same one :func:`rollout_errors` scores) and the
    constant-velocity rollout, each as nested lists (F, K, 3) over the real objects."""
    traj = data.trajectory_batch(trajectories, device)
    true_verts = traj.pop("verts")  # (B, F, K, V, 3)
    mask = traj["vert_mask"]
    tracks = {"true": _centroids(true_verts, mask[:, None])}
    with _eval_mode(model):
        for name, predictor in (("predicted", model), ("constant_velocity", None)):
            out = tracks["true"].clone()
            for h, _, pred in _rollout(predictor, data, traj, true_verts):
                out[:, h + 2] = _centroids(pred.to(out.dtype), mask)
                if not bool(torch.isfinite(pred).all()):
                    out[:, h + 3:] = math.nan
            tracks[name] = out
    items = []
    for b, index in enumerate(trajectories):
        real = traj["object_mask"][b].bool()
        item = {name: t[b][:, real].cpu().tolist() for name, t in tracks.items()}
        items.append({"index": index, "gravity": traj["gravity"][b].cpu().tolist(), **item})
    return items


def save_rollout(path: Path, model: torch.nn.Module, data: SplitData, config: Any,
                 trajectories: list[int], device: torch.device) -> Path:
    """Write the tracks of the first :data:`TRACKED_TRAJECTORIES` of ``trajectories`` to
    ``path`` (``rollout.json``, atomically)."""
    from eqscale.rollouts import rollout_record, write_rollout

    tracks = rollout_tracks(model, data, trajectories[:TRACKED_TRAJECTORIES], device)
    rate = data.dataset.manifest.get("frame_rate")
    return write_rollout(path, rollout_record(config.model, data.split, rate, tracks))


def evaluate_model(model: torch.nn.Module, data: SplitData, config: Any,
                   device: torch.device, rollout_path: Path | None = None) -> dict[str, Any]:
    """Test loss, rollout and equivariance errors of ``model`` on a split (result.json keys).
    With ``rollout_path``, the object tracks of the first rollout trajectories are written
    there too (:func:`save_rollout`)."""
    from eqscale.models.reference import skill

    indices = evenly_spaced(len(data), config.test_samples)
    losses = dataset_losses(model, data, indices, config.eval_batch_size, device,
                            references=True)
    loss = losses["loss"]
    trajs = evenly_spaced(data.trajectories, config.rollout_trajectories)
    per_horizon = rollout_errors(model, data, trajs, config.eval_batch_size, device)
    cv_horizon = rollout_errors(None, data, trajs, config.eval_batch_size, device)
    if rollout_path is not None and trajs:
        save_rollout(rollout_path, model, data, config, trajs, device)
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
    from eqscale.devices import resolve_device
    from eqscale.errors import CheckpointError
    from eqscale.models import build_model
    from eqscale.train.checkpoint import load_checkpoint
    from eqscale.train.config import TrainConfig
    from eqscale.train.data_access import open_split

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
    dev = resolve_device(device)
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
    tracks = _own_rollout_path(run, stored, data, split)
    out = evaluate_model(model, split_data, config, dev, rollout_path=tracks)
    out.update(run=str(run), data=str(data), split=split, model=config.model, size=config.size,
               best_step=best.get("step"), rollout_file=None if tracks is None else str(tracks))
    return out


def _own_rollout_path(run: Path, stored: dict, data: str | Path, split: str) -> Path | None:
    """``RUN/rollout.json`` when this evaluation is the one training makes (the test split of
    the run's own dataset) and the run directory is writable: the file training would have
    written, so runs made before it existed get it. Otherwise None: another split or dataset
    must not replace the run's own tracks."""
    import os

    from eqscale.rollouts import ROLLOUT_FILE

    try:
        own = Path(str(stored.get("data"))).resolve() == Path(data).resolve()
    except (OSError, RuntimeError):
        return None
    if split != "test" or not own or not os.access(run, os.W_OK):
        return None
    return run / ROLLOUT_FILE
