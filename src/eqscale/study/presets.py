"""Named studies, from seconds (``tiny``) to a GPU cluster (``paper``).

Budgets are set from the FLOP accounting (:mod:`eqscale.models.flops`, nominal convention):
each budget buys every size in its IsoFLOP grid at least ``min_steps`` steps at the study's batch
size, and the grids span the IsoFLOP minimum. ``tests/study/test_presets.py`` plans every preset,
so a change of the FLOP accounting that breaks one fails there, not in a user's sweep.
"""

from __future__ import annotations

from eqscale.study.spec import ComputeStudy, DataSpec, DataStudy, StudySpec, TrainSpec


def _geometric(lo: float, hi: float, n: int) -> tuple[float, ...]:
    """``n`` budgets evenly spaced in log between ``lo`` and ``hi``, rounded to 2 digits."""
    ratio = (hi / lo) ** (1.0 / (n - 1))
    return tuple(float(f"{lo * ratio**i:.2g}") for i in range(n))


# Tests: a dataset of a few trajectories, one budget, three sizes, two training-set sizes;
# each run is a few dozen steps so the whole study takes seconds on two cores.
TINY = StudySpec(
    name="tiny",
    description="test study: seconds on two cores",
    data=DataSpec(n_train=8, n_val=2, n_test=2, faces_per_object=16, shard_size=4),
    train=TrainSpec(preset="tiny", overrides={"batch_size": 4}),
    compute=ComputeStudy(budgets=(6e8,), sizes=(0, 1, 2), min_steps=10),
    data_study=DataStudy(train_sizes=(2, 8), size=0, steps=12),
)

# A 2-core laptop: the whole demo (data, both studies, fits, report) in about 10 minutes.
DEMO = StudySpec(
    name="demo",
    description="laptop study: about 10 minutes on two cores",
    data=DataSpec(n_train=96, n_val=16, n_test=16, faces_per_object=16, shard_size=16),
    train=TrainSpec(
        preset="demo",
        overrides={"batch_size": 8, "eval_every": 25, "checkpoint_every": 50, "patience": None,
                   "val_samples": 64, "test_samples": 128, "rollout_trajectories": 4},
    ),
    compute=ComputeStudy(budgets=_geometric(2e10, 2e11, 3), sizes=(0, 1, 2, 3), min_steps=40),
    data_study=DataStudy(train_sizes=(8, 24, 96), size=1, steps=200),
)

# A workstation CPU: hours. More budgets, a wider size grid, a larger dataset.
CPU = StudySpec(
    name="cpu",
    description="workstation study: hours on a multi-core CPU",
    data=DataSpec(n_train=2000, n_val=100, n_test=200, faces_per_object=32, shard_size=64),
    train=TrainSpec(preset="demo", overrides={"batch_size": 16, "eval_every": 100,
                                             "checkpoint_every": 100, "patience": 5}),
    compute=ComputeStudy(budgets=_geometric(1e12, 3e13, 5), sizes=(0, 1, 2, 3, 4, 5),
                         min_steps=100),
    data_study=DataStudy(train_sizes=(50, 150, 500, 2000), size=2, steps=3000),
)

# The reference study's scale (Brehmer et al.): ~4e5 trajectories, budgets 1e16 .. 1e19 FLOPs.
PAPER = StudySpec(
    name="paper",
    description="reference-scale study: 4e5 trajectories, 1e16..1e19 FLOPs, a GPU cluster",
    data=DataSpec(n_train=400_000, n_val=2000, n_test=4000, faces_per_object=64,
                  shard_size=1024),
    train=TrainSpec(preset="demo", overrides={"batch_size": 64, "eval_every": 1000,
                                             "checkpoint_every": 1000, "patience": 10,
                                             "val_samples": 4096, "test_samples": None,
                                             "rollout_trajectories": 64}),
    compute=ComputeStudy(budgets=_geometric(1e16, 1e19, 7), sizes=tuple(range(8)),
                         min_steps=1000),
    data_study=DataStudy(train_sizes=(1000, 4000, 16_000, 64_000, 400_000), size=4,
                         steps=100_000),
)

PRESETS: dict[str, StudySpec] = {s.name: s for s in (TINY, DEMO, CPU, PAPER)}
