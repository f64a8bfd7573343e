"""Synthetic run tables with known laws, shaped like the study's ``runs.csv``.

Compute study: per model and budget an IsoFLOP grid of sizes around the true optimum; each run
spends C = k N^p D FLOPs (k, p per model: GATr is not 6ND) and reaches
L = E + A N^-alpha + B D^-beta times log-normal noise. Data study: training-set sizes x
{gatr, transformer, transformer + augmentation} with L = E + A n^-gamma. Wall seconds are
FLOPs over a per-model throughput. One failed run is included, as a real sweep may have.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ModelLaw:
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    k: float  # FLOPs per sample per parameter^p
    p: float
    flops_per_second: float

    def loss(self, N, D):
        return self.E + self.A * np.asarray(N) ** -self.alpha + self.B * np.asarray(D) ** -self.beta

    def n_opt(self, C):
        """Closed-form compute-optimal size (see eqscale.scaling.compute.Allocation)."""
        denom = self.alpha + self.p * self.beta
        g = (self.alpha * self.A / (self.p * self.beta * self.B * self.k**self.beta)) ** (1 / denom)
        return g * np.asarray(C, dtype=float) ** (self.beta / denom)


@dataclass(frozen=True)
class DataLaw:
    E: float
    A: float
    gamma: float

    def loss(self, n):
        return self.E + self.A * np.asarray(n, dtype=float) ** -self.gamma


LAWS = {
    "gatr": ModelLaw(E=0.015, A=12.0, B=15.0, alpha=0.40, beta=0.30, k=40.0, p=1.0,
                     flops_per_second=5e8),
    "transformer": ModelLaw(E=0.03, A=30.0, B=30.0, alpha=0.30, beta=0.35, k=6.0, p=1.0,
                            flops_per_second=2e9),
}
DATA_LAWS = {
    ("gatr", False): DataLaw(E=0.02, A=0.5, gamma=0.5),
    ("transformer", False): DataLaw(E=0.03, A=0.8, gamma=0.35),
    ("transformer", True): DataLaw(E=0.025, A=0.6, gamma=0.45),
}

COLUMNS = [
    "study", "run_id", "kind", "model", "size", "N", "D", "steps", "batch_size", "budget",
    "budget_convention", "flops_nominal", "flops_executed", "wall_seconds", "device",
    "lr", "best_val_loss", "test_loss", "constant_velocity_loss", "rigid_constant_velocity_loss",
    "rollout_error",
    "equivariance_error", "augment", "train_subset", "seed", "status", "reason",
]


def make_rows(budgets=(1e12, 1e13, 1e14, 1e15), sizes_per_budget: int = 5,
              data_sizes=(8, 16, 32, 64, 128, 256), noise: float = 0.01, seed: int = 0,
              laws=None, data_laws=None, cv_loss: float | None = None,
              rigid_cv_loss: float | None = None,
              lr_stage: dict | None = None) -> list[dict]:
    """Rows of a run table (dicts keyed by ``COLUMNS``) drawn from the known laws.

    ``cv_loss``: the constant-velocity reference every run is scored beside (empty if None).
    ``lr_stage``: ``{arm: {lr: validation loss}}`` rows of a learning-rate stage.
    """
    laws = laws or LAWS
    data_laws = data_laws if data_laws is not None else DATA_LAWS
    rng = np.random.default_rng(seed)
    rows: list[dict] = []

    def row(**kw):
        base = {c: "" for c in COLUMNS}
        base.update(study="synthetic", run_id=f"r{len(rows):04d}", status="finished",
                    budget_convention="nominal", device="cpu", seed=seed, batch_size=32,
                    augment="false", reason="", lr=1e-3,
                    constant_velocity_loss="" if cv_loss is None else cv_loss,
                    rigid_constant_velocity_loss="" if rigid_cv_loss is None else rigid_cv_loss)
        base.update(kw)
        rows.append(base)

    for model, law in laws.items():
        for C in budgets:
            offsets = np.linspace(-1.0, 1.0, sizes_per_budget) * np.log(4.0)
            offsets += rng.uniform(-0.1, 0.1)  # the grid is not centred on the truth
            for i, off in enumerate(offsets):
                N = float(np.round(law.n_opt(C) * np.exp(off)))
                D = C / (law.k * N**law.p)
                L = float(law.loss(N, D) * np.exp(noise * rng.standard_normal()))
                row(kind="compute", model=model, size=i, N=N, D=D, steps=int(D // 32),
                    budget=C, flops_nominal=C, flops_executed=1.3 * C,
                    wall_seconds=C / law.flops_per_second * np.exp(0.05 * rng.standard_normal()),
                    best_val_loss=L, test_loss=L)
    for (model, augment), law in data_laws.items():
        for n in data_sizes:
            L = float(law.loss(n) * np.exp(noise * rng.standard_normal()))
            N, D = 1e5, 500.0 * n
            flops = LAWS[model].k * N * D
            row(kind="data", model=model, size=2, N=N, D=D, steps=int(D // 32),
                budget="", flops_nominal=flops, flops_executed=1.3 * flops,
                wall_seconds=flops / LAWS[model].flops_per_second,
                best_val_loss=L, test_loss=L, augment="true" if augment else "false",
                train_subset=n)
    for arm, losses in (lr_stage or {}).items():
        model, _, aug = arm.partition("+")
        for lr, val in losses.items():
            flops = LAWS[model].k * 1e5 * 3200
            row(kind="lr", model=model, size=1, N=1e5, D=3200, steps=100, budget="",
                flops_nominal=flops, flops_executed=1.3 * flops, wall_seconds=1.0, lr=lr,
                best_val_loss=val, test_loss=val, augment="true" if aug else "false")
    row(kind="compute", model="gatr", size=0, N=1e4, D="", budget=budgets[0], status="failed",
        reason="non-finite loss at step 12")
    return rows


def write_table(rows: list[dict], path: Path, columns=None) -> Path:
    columns = columns or COLUMNS
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
