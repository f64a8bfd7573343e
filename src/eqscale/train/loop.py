"""The training loop: budgeted steps, validation with early stopping, checkpoints.

``run_training(config, data_dir, out_dir)`` trains one model and returns the content of
``result.json``. Restarted with the same config on the same run directory it resumes from
``checkpoints/last.pt``; a run that already has ``result.json`` is left alone.

Reproducibility: weights are initialised from ``config.seed``; the data order and the
augmentation transforms are pure functions of ``(seed, step)`` (:mod:`eqscale.train.order`);
optimiser, scheduler and RNG states travel in the checkpoint. So a run killed at any moment
and restarted ends bit-identical (on CPU) to an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from eqscale.atomic import write_json_atomic
from eqscale.data.verify import verify_dataset
from eqscale.errors import CheckpointError, EqscaleError
from eqscale.jsonsafe import json_safe
from eqscale.rollouts import ROLLOUT_FILE
from eqscale.train import distributed as dist_utils
from eqscale.train.budget import compute_figures, sample_cost, steps_for_budget
from eqscale.train.checkpoint import (
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from eqscale.train.compilation import FirstStepTimer, compiled, use_compile
from eqscale.train.config import TrainConfig
from eqscale.train.data_access import open_split
from eqscale.train.evaluate import batch_loss, dataset_losses, evaluate_model, evenly_spaced
from eqscale.train.failures import non_finite_reason, run_dir_lock
from eqscale.train.metrics import MetricsLog
from eqscale.train.order import EpochOrder, StepBatches, mixed_seed
from eqscale.train.run_log import run_log
from eqscale.train.schedule import make_scheduler

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    """Bookkeeping that a checkpoint carries besides weights and optimiser."""

    step: int = 0  # optimiser steps completed
    best_val_loss: float = math.inf
    best_step: int = 0
    bad_evals: int = 0  # validations since the last improvement
    stopped_early: bool = False
    wall_seconds: float = 0.0
    compile_seconds: float = 0.0  # first compiled step of every process that trained the run


def run_training(config: TrainConfig, data_dir: str | Path, out_dir: str | Path,
                 quiet: bool = False, placement: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train (or resume, or skip a finished run) and return the content of ``result.json``;
    ``placement`` (where a scheduler put the run: host, assigned GPUs) is recorded in it."""
    ctx = dist_utils.detect()
    device = dist_utils.rank_device(config.device, ctx)
    dist_utils.init(ctx, device)
    trainer = None
    try:
        trainer = Trainer(config, Path(data_dir), Path(out_dir), ctx, device, quiet)
        trainer.placement = placement
        with run_dir_lock(Path(out_dir), ctx.is_main), run_log(Path(out_dir), ctx.is_main):
            result = trainer.run()
        # Every rank finishes its collectives before any tears the group down (Gloo aborts a
        # process whose peer closed the connection mid-operation).
        dist_utils.barrier(ctx)
        return result
    finally:
        # Free the trainer (the DDP wrapper and its gradient reducer, which hold Gloo work
        # objects) now, while the process group and the interpreter are alive: left to
        # interpreter shutdown, their C++ threads could abort the process (SIGABRT) after the
        # run had finished.
        del trainer
        gc.collect()
        dist_utils.shutdown(ctx)


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices only (not on biases, norms or 1-D gains)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas)


class Trainer:
    """One run in one run directory; rank 0 of a data-parallel group does all the writing."""

    def __init__(self, config: TrainConfig, data_dir: Path, out_dir: Path,
                 ctx: dist_utils.DistContext, device: torch.device, quiet: bool) -> None:
        self.config = config
        self.placement: dict[str, Any] | None = None
        self.data_dir = data_dir
        self.out = out_dir
        self.ctx = ctx
        self.device = device
        self.quiet = quiet or not ctx.is_main
        self.ckpt_dir = out_dir / "checkpoints"

    # --- set-up -----------------------------------------------------------------------------

    def _say(self, msg: str, console: bool = True) -> None:
        """Log ``msg``: into the run's ``train.log`` always, on the console unless quiet."""
        if self.ctx.is_main:
            log.info(msg, extra={"console": console and not self.quiet})

    def _check_run_dir(self) -> dict[str, Any] | None:
        """Refuse a run directory of another config; return an existing result if finished."""
        cfg_path = self.out / "config.json"
        if cfg_path.is_file():
            try:
                stored = json.loads(cfg_path.read_text())["config"]
                same = TrainConfig.from_dict(stored).identity() == self.config.identity()
            except (ValueError, KeyError, TypeError, EqscaleError):  # ValueError: JSON, UTF-8
                raise CheckpointError(f"{cfg_path} is corrupt") from None
            if not same:
                raise EqscaleError(
                    f"{self.out} holds a run with a different config; use another --out"
                )
        result_path = self.out / "result.json"
        if result_path.is_file():
            try:
                return json.loads(result_path.read_text())
            except ValueError:  # not JSON, or not UTF-8 text
                raise CheckpointError(f"{result_path} is corrupt") from None
        return None

    def run(self) -> dict[str, Any]:
        cfg = self.config
        done = self._check_run_dir()
        if done is not None:
            self._say(f"run {self.out} is already {done.get('status')}; nothing to do "
                      f"(test loss {done.get('test_loss')})")
            return done
        t_start = time.monotonic()
        self.train_ds = open_split(self.data_dir, "train", cfg.train_subset)
        self.val_ds = open_split(self.data_dir, "val")
        verify_dataset(self.data_dir, ("test",))  # the final evaluation's data, checked now
        fpo, mean_objects = self.train_ds.faces_per_object, self.train_ds.mean_objects
        self.cost = sample_cost(cfg.model, cfg.size, mean_objects, fpo,
                                slots=self.train_ds.object_slots)
        if cfg.steps is not None:
            self.planned_steps = cfg.steps
        else:
            per_sample = self.cost.in_convention(cfg.budget_convention)
            self.planned_steps = steps_for_budget(cfg.budget, per_sample, cfg.batch_size)

        from eqscale.models import build_model

        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg.model, cfg.size, fpo).to(self.device)
        self.n_params = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.optimizer = make_optimizer(self.model, cfg)
        self.scheduler = make_scheduler(self.optimizer, self.planned_steps, cfg.warmup_fraction,
                                        cfg.min_lr_ratio)
        self.order = EpochOrder(len(self.train_ds), cfg.batch_size, cfg.seed,
                                self.ctx.rank, self.ctx.world_size)
        self.val_indices = evenly_spaced(len(self.val_ds), cfg.val_samples)
        self.log = MetricsLog(self.out, enabled=self.ctx.is_main)
        self.state = TrainState()

        if self.ctx.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.out / "config.json", {
                "config": cfg.to_dict(), "data": str(self.data_dir),
                "planned_steps": self.planned_steps, "faces_per_object": fpo,
                "mean_objects": mean_objects, "N": self.n_params,
                "world_size": self.ctx.world_size,
            }, indent=2, sort_keys=True)
        last = self.ckpt_dir / "last.pt"
        if last.is_file():
            self._restore(load_checkpoint(last, self.device))
            self._say(f"resuming {self.out} at step {self.state.step}/{self.planned_steps}")
            self.log.truncate_after(self.state.step)
        else:  # a restart before the first checkpoint starts afresh: no duplicated records
            self.log.truncate_after(0)
        self.wall_base = self.state.wall_seconds + (time.monotonic() - t_start)
        self.t0 = time.monotonic()

        failure = self._train()
        result = self._finish(failure)
        self.log.close()
        return result

    # --- checkpoints ------------------------------------------------------------------------

    def _wall(self) -> float:
        return self.wall_base + (time.monotonic() - self.t0)

    def _restore(self, ckpt: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(ckpt["model"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
            self.scheduler.load_state_dict(ckpt["scheduler"])
            self.state = TrainState(**ckpt["state"])
            set_rng_state(ckpt["rng"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            msg = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else "bad keys"
            raise CheckpointError(f"checkpoint {self.ckpt_dir / 'last.pt'} does not fit this "
                                  f"run ({msg})") from None

    def _save_last(self) -> None:
        if not self.ctx.is_main:
            return
        self.state.wall_seconds = self._wall()
        save_checkpoint(self.ckpt_dir / "last.pt", {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "state": dataclasses.asdict(self.state),
            "rng": rng_state(),
        })

    def _save_best(self) -> None:
        if self.ctx.is_main:
            save_checkpoint(self.ckpt_dir / "best.pt", {
                "model": self.model.state_dict(), "step": self.state.step,
                "val_loss": self.state.best_val_loss,
            })

    # --- training ---------------------------------------------------------------------------

    _compile_counted = False

    def _train(self) -> str | None:
        """Run the remaining steps; return a failure reason, or None."""
        cfg, ctx, st = self.config, self.ctx, self.state
        net: torch.nn.Module = self.model
        if ctx.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            net = DistributedDataParallel(self.model, device_ids=ids)
        self.compiling = use_compile(cfg.compile, self.device)
        if self.compiling:
            net = compiled(net)
        timer = FirstStepTimer()
        from eqscale.data.augment import random_e3

        bar = None
        if not self.quiet and st.step < self.planned_steps and not st.stopped_early:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.planned_steps, initial=st.step, desc=f"{cfg.model} s{cfg.size}",
                       unit="step", dynamic_ncols=True)
        autocast = torch.autocast(device_type=self.device.type, dtype=torch.bfloat16,
                                  enabled=self.device.type == "cuda")
        try:
            sampler = StepBatches(self.order, st.step, self.planned_steps)
            batches = iter(self.train_ds.loader(sampler, cfg.data_workers,
                                                pin_memory=self.device.type == "cuda"))
            while st.step < self.planned_steps and not st.stopped_early:
                self.model.train()
                batch = {k: v.to(self.device, non_blocking=True) for k, v in next(batches).items()}
                if cfg.augment:
                    gen = torch.Generator().manual_seed(mixed_seed(cfg.seed, st.step, ctx.rank, 1))
                    batch = random_e3(batch, gen)
                timer.start()
                with autocast:
                    loss, weight = batch_loss(net, batch)
                # Each rank's loss is a mean over its own objects; weighting by its share of
                # the global batch's objects makes DDP's gradient average equal the gradient of
                # the single-process mean over the whole global batch.
                total_weight = dist_utils.all_reduce_sum(weight.detach().float(), ctx)
                scaled = loss * (weight * ctx.world_size / total_weight)
                global_loss = dist_utils.all_reduce_sum(
                    (loss.detach() * weight / total_weight).float(), ctx).item()
                if not math.isfinite(global_loss):
                    return non_finite_reason(
                        "training", global_loss, st.step + 1, batch,
                        self.train_ds.shard_folders(self.order.local_batch(st.step)))
                self.optimizer.zero_grad(set_to_none=True)
                scaled.backward()
                timer.stop()
                if self.compiling and timer.seconds is not None and not self._compile_counted:
                    st.compile_seconds += timer.seconds
                    self._compile_counted = True
                grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                lr = self.scheduler.get_last_lr()[0]
                self.optimizer.step()
                self.scheduler.step()
                st.step += 1
                self.log.write({"kind": "train", "step": st.step, "loss": global_loss, "lr": lr,
                                "grad_norm": float(grad_norm),
                                "samples": st.step * cfg.batch_size,
                                "epoch": self.order.epoch_of(st.step)})
                if bar is not None:
                    bar.update(1)
                    best = st.best_val_loss
                    bar.set_postfix(loss=f"{global_loss:.3g}",
                                    best_val=f"{best:.3g}" if math.isfinite(best) else "-")
                is_last = st.step == self.planned_steps
                if st.step % cfg.eval_every == 0 or is_last:
                    reason = self._validate()
                    if reason is not None:
                        return reason
                    self._save_last()
                elif st.step % cfg.checkpoint_every == 0:
                    self._save_last()
        finally:
            if bar is not None:
                bar.close()
        return None

    def _validate(self) -> str | None:
        """Validation loss (computed on rank 0, shared with all ranks so that every rank keeps
        the same best-validation and early-stopping state); best checkpoint on rank 0."""
        cfg, st = self.config, self.state
        val, cv = math.nan, math.nan
        if self.ctx.is_main:
            losses = dataset_losses(self.model, self.val_ds, self.val_indices,
                                    cfg.eval_batch_size, self.device, references=True)
            val, cv = losses["loss"], losses["constant_velocity_loss"]
        val = dist_utils.broadcast_value(val, self.ctx, self.device)
        if not math.isfinite(val):
            return f"non-finite validation loss ({val}) at step {st.step}"
        improved = val < st.best_val_loss
        if improved:
            st.best_val_loss, st.best_step, st.bad_evals = val, st.step, 0
            self._save_best()
        else:
            st.bad_evals += 1
        self.log.write({"kind": "val", "step": st.step, "val_loss": val,
                        "best_val_loss": st.best_val_loss, "improved": improved,
                        "constant_velocity_loss": cv})
        self._say(f"step {st.step}/{self.planned_steps}: validation loss {val:.5g} (best "
                  f"{st.best_val_loss:.5g} at step {st.best_step}; constant velocity {cv:.5g})",
                  console=False)
        if cfg.patience is not None and st.bad_evals >= cfg.patience:
            st.stopped_early = st.step < self.planned_steps
            if st.stopped_early:
                self._say(f"early stop at step {st.step}: no improvement for {cfg.patience} "
                          "validations")
        return None

    # --- result -----------------------------------------------------------------------------

    def _finish(self, failure: str | None) -> dict[str, Any]:
        cfg, st = self.config, self.state
        samples = st.step * cfg.batch_size
        result: dict[str, Any] = {
            "model": cfg.model, "size": cfg.size, "N": self.n_params, "D": samples,
            "steps": st.step, "planned_steps": self.planned_steps,
            "batch_size": cfg.batch_size, "budget": cfg.budget,
            "budget_convention": cfg.budget_convention, **compute_figures(self.cost, samples),
            "device": self.device.type, "world_size": self.ctx.world_size,
            "threads": torch.get_num_threads(),
            **({"placement": self.placement} if self.placement else {}),
            "lr": cfg.lr, "best_val_loss": None, "best_step": None, "test_loss": None,
            "constant_velocity_loss": None, "rigid_constant_velocity_loss": None,
            "no_motion_loss": None, "skill": None,
            "rollout_error": None, "rollout_error_per_horizon": None,
            "constant_velocity_rollout_error": None,
            "constant_velocity_rollout_error_per_horizon": None, "equivariance_error": None,
            "augment": cfg.augment, "train_subset": cfg.train_subset, "seed": cfg.seed,
            "stopped_early": st.stopped_early, "status": "failed", "reason": failure,
            "compiled": getattr(self, "compiling", use_compile(cfg.compile, self.device)),
            "compile_seconds": st.compile_seconds or None,
        }
        if failure is None and self.ctx.is_main:
            best = load_checkpoint(self.ckpt_dir / "best.pt", self.device)
            self.model.load_state_dict(best["model"])
            test_ds = open_split(self.data_dir, "test")
            result.update(evaluate_model(self.model, test_ds, cfg, self.device,
                                         rollout_path=self.out / ROLLOUT_FILE))
            result.update(best_val_loss=st.best_val_loss, best_step=st.best_step,
                          status="finished", reason=None)
        result["wall_seconds"] = self._wall()
        result = json_safe(result)  # NaN/inf as null with a note: result.json stays JSON
        if self.ctx.is_main:
            write_json_atomic(self.out / "result.json", result, indent=2, sort_keys=True)
            self._say(f"run {self.out} {result['status']}: steps {st.step}, "
                      f"best val {result['best_val_loss']}, test {result['test_loss']}"
                      + (f" ({failure})" if failure else ""))
        if self.ctx.enabled:
            import torch.distributed as dist

            box = [result]
            dist.broadcast_object_list(box, src=0)
            result = box[0]
        return result
