"""Named studies, from seconds (``tiny``) to a GPU cluster (``paper``).

Budgets are set from the FLOP accounting (:mod:`eqscale.models.flops`, nominal convention):
each budget buys every size in its IsoFLOP grid at least ``min_steps`` steps at the study's batch
size, and the grids span the IsoFLOP minimum. ``tests/study/test_plan.py`` plans every preset,
so a change of the FLOP accounting that breaks one fails there, not in a user's sweep.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from eqscale.errors import EqscaleError
from eqscale.study.spec import ComputeStudy, DataSpec, DataStudy, LRStage, StudySpec, TrainSpec


def _geometric(lo: float, hi: float, n: int) -> tuple[float, ...]:
    """``n`` budgets evenly spaced in log between ``lo`` and ``hi``, rounded to 2 digits."""
    ratio = (hi / lo) ** (1.0 / (n - 1))
    return tuple(float(f"{lo * ratio**i:.2g}") for i in range(n))


# Tests: the `tiny_dataset` fixture's data (8/4/4 trajectories, 8 faces per object), one
# budget with two sizes per model (enough to exercise the machinery, not to fit an IsoFLOP
# minimum), two training-set sizes; each run is a few dozen steps, the study takes seconds.
TINY = StudySpec(
    name="tiny",
    description="test study: seconds on two cores",
    data=DataSpec(n_train=8, n_val=4, n_test=4, faces_per_object=8, shard_size=4),
    train=TrainSpec(preset="tiny", overrides={"batch_size": 4, "eval_every": 5,
                                              "checkpoint_every": 5}),
    compute=ComputeStudy(budgets=(3.5e9,), sizes={"gatr": (0, 1), "transformer": (1, 2)},
                         min_steps=5, max_steps=100, min_sizes_per_budget=2),
    data_study=DataStudy(train_sizes=(2, 8), size=0, steps=10),
    lr=LRStage(grid=(1e-3, 3e-3), steps=10, sizes={"gatr": 0, "transformer": 1}),
    bootstrap=20,
)

# A 2-core laptop: the whole demo (data, both studies, fits, report) in about 10 minutes.
# 8 faces per object and batch 8 keep a GATr step near 0.1-0.6 s on one core. Four budgets
# (the offset frontier fit needs four) over a factor 4, 3-4 sizes per IsoFLOP grid, each run
# 20..6000 steps; four training-set sizes (the offset data-scaling fit needs four). Small:
# every fit gets enough points, but at this scale the smallest sizes often win every budget,
# leaving the IsoFLOP grids without an interior minimum.
DEMO = StudySpec(
    name="demo",
    description="laptop study: about 10 minutes on two cores",
    data=DataSpec(n_train=256, n_val=32, n_test=32, faces_per_object=8, shard_size=32),
    train=TrainSpec(
        preset="demo",
        overrides={"batch_size": 8, "eval_every": 50, "checkpoint_every": 100,
                   "patience": 4, "val_samples": 32, "test_samples": 64,
                   "rollout_trajectories": 2, "equivariance_transforms": 1,
                   "eval_batch_size": 32},
    ),
    compute=ComputeStudy(budgets=(1.1e11, 1.8e11, 2.8e11, 4.5e11),
                         sizes={"gatr": (0, 1, 2, 3, 4), "transformer": (0, 1, 2, 3, 4, 5)},
                         min_steps=20, max_steps=6000),
    # 500 steps with early stopping: 11 epochs of the smallest training set, two thirds of one
    # of the largest, so training-set size can matter (250 steps left every size under one
    # epoch's worth of learning and the data study measured nothing; 600 put the demo at 9.8
    # minutes, too close to its 10).
    data_study=DataStudy(train_sizes=(16, 40, 100, 256), size=0, steps=500),
    # Picked by the demo-lr stage below (best validation loss of each arm over 3e-4, 1e-3,
    # 3e-3, 1e-2 at 300 steps; the augmented transformer's losses were within 2% of each
    # other): `eqscale sweep run --study demo-lr --out demo-lr --workers 2 --lr-only`, then
    # DIR/lr.json.
    learning_rates={"gatr": 1e-3, "transformer": 3e-3, "transformer+augment": 3e-4},
    bootstrap=100,
)

# The demo's learning rates come from this stage, run once and committed above:
# `eqscale sweep run --study demo-lr --out demo-lr --workers 2 --lr-only` (lr.json holds the
# picks). The demo itself skips the stage to keep to its time budget.
DEMO_LR = dataclasses.replace(
    DEMO, name="demo-lr", description="the demo's learning-rate stage (its picks are committed)",
    lr=LRStage(grid=(3e-4, 1e-3, 3e-3, 1e-2), steps=300, sizes={"gatr": 1, "transformer": 2}),
    learning_rates={})

# This 2-core machine in at most 2 hours (docs/results/cpu/: the committed result). Planned from
# the demo's measured step times (batch 8, one thread per run: GATr sizes 0-3 take about 0.07,
# 0.09, 0.25 and 0.54 s a step, the transformer's sizes 1-4 about 0.017, 0.034, 0.057 and 0.27 s)
# and what the demo showed: at its budgets (<= 4.5e11) the smallest sizes win everywhere, and
# GATr above size 1 is still on the constant-velocity plateau after 100 steps. So: budgets 8x
# higher (1.25e12 .. 1e13), where sizes 1-2 (GATr) and 2-3 (the transformer) have the steps to
# learn; 150..20,000 steps per run, which keeps runs still on the plateau out of the IsoFLOP
# grids (each gets 3-4 sizes) and the smallest sizes' many cheap-in-FLOPs, dear-in-seconds
# steps within the time; 4,000 training trajectories (generated in about a minute) so the
# largest runs see each sample about twice at most; test losses on 256 samples, the same for
# every run. The data study trains size 0 for 5,000 steps: 17 epochs of the 100-trajectory
# subset, enough for augmentation to matter there, half an epoch of the full set. The rest
# (batch, faces, size grids, evaluation batch) is the demo's.
CPU = dataclasses.replace(
    DEMO, name="cpu",
    description="2-core study: at most 2 hours (the committed result, docs/results/cpu)",
    data=DataSpec(n_train=4000, n_val=200, n_test=200, faces_per_object=8, shard_size=100),
    train=TrainSpec(preset="demo", overrides={
        **DEMO.train.overrides, "eval_every": 250, "checkpoint_every": 500, "patience": 6,
        "val_samples": 64, "test_samples": 256, "rollout_trajectories": 4}),
    compute=dataclasses.replace(DEMO.compute, budgets=(1.25e12, 2.5e12, 5e12, 1e13),
                                min_steps=150, max_steps=20_000),
    data_study=DataStudy(train_sizes=(100, 300, 1000, 4000), size=2, steps=5000),
    lr=LRStage(grid=(3e-4, 1e-3, 3e-3, 1e-2), steps=1000, sizes={"gatr": 1, "transformer": 2}),
    learning_rates={}, bootstrap=200,
)

# The reference study's scale (Brehmer et al.): ~4e5 trajectories, budgets from about 1e16 to
# 1e19 FLOPs. Batch 128 and a window of 1e3..2e6 steps give every budget an IsoFLOP grid of at
# least three sizes per model (at 1e19 the transformer grid is sizes 5-7, up to 2e8 parameters).
PAPER = StudySpec(
    name="paper",
    description="reference-scale study: 4e5 trajectories, 2e16..1e19 FLOPs, a GPU cluster",
    data=DataSpec(n_train=400_000, n_val=2000, n_test=4000, faces_per_object=64,
                  shard_size=1024),
    train=TrainSpec(preset="demo", overrides={"batch_size": 128, "eval_every": 1000,
                                             "checkpoint_every": 1000, "patience": 10,
                                             "val_samples": 4096, "test_samples": None,
                                             "rollout_trajectories": 64}),
    compute=ComputeStudy(budgets=_geometric(2e16, 1e19, 7),
                         sizes={"gatr": (2, 3, 4, 5, 6, 7), "transformer": (3, 4, 5, 6, 7)},
                         min_steps=1000, max_steps=2_000_000),
    data_study=DataStudy(train_sizes=(1000, 4000, 16_000, 64_000, 400_000), size=4,
                         steps=100_000),
    lr=LRStage(grid=(1e-4, 3e-4, 1e-3, 3e-3), steps=10_000, sizes={"gatr": 4, "transformer": 4}),
)

PRESETS: dict[str, StudySpec] = {s.name: s for s in (TINY, DEMO, DEMO_LR, CPU, PAPER)}


def load_study(study: str) -> StudySpec:
    """A preset name (``tiny``, ``demo``, ``cpu``, ``paper``) or a JSON file of a StudySpec."""
    if study in PRESETS:
        return PRESETS[study]
    path = Path(study)
    if not path.is_file():
        raise EqscaleError(
            f"--study {study!r} is neither a preset ({', '.join(PRESETS)}) nor a JSON file"
        )
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8 text
        raise EqscaleError(f"cannot read study spec {path}: {exc}") from None
    return StudySpec.from_dict(d)
