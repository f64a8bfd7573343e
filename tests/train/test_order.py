"""Data order: a pure function of (seed, step), epochs are permutations, ranks split batches."""

import pytest

from eqscale.errors import EqscaleError
from eqscale.train.order import EpochOrder


def test_every_epoch_visits_each_sample_once():
    order = EpochOrder(n_samples=12, batch_size=4, seed=7)
    seen = [i for step in range(6) for i in order.global_batch(step)]
    assert sorted(seen[:12]) == list(range(12)) and sorted(seen[12:]) == list(range(12))
    assert seen[:12] != seen[12:]  # a new permutation each epoch


def test_order_depends_only_on_seed_and_step():
    a = EpochOrder(50, 8, seed=3)
    b = EpochOrder(50, 8, seed=3)
    # b is asked out of order (as after a resume): same answers.
    assert [b.global_batch(s) for s in (9, 2, 5)] == [a.global_batch(s) for s in (9, 2, 5)]
    assert EpochOrder(50, 8, seed=4).global_batch(0) != a.global_batch(0)


def test_ranks_take_disjoint_contiguous_slices_of_the_global_batch():
    full = EpochOrder(30, 6, seed=1).global_batch(4)
    parts = [EpochOrder(30, 6, seed=1, rank=r, world_size=3).local_batch(4) for r in range(3)]
    assert sum(parts, []) == full


def test_batch_not_divisible_by_world_size_is_a_user_error():
    with pytest.raises(EqscaleError, match="divisible"):
        EpochOrder(10, 5, seed=0, rank=0, world_size=2)
    with pytest.raises(EqscaleError, match="no samples"):
        EpochOrder(0, 4, seed=0)


def test_step_batches_resume_mid_run_with_the_same_batches():
    from eqscale.train.order import StepBatches

    order = EpochOrder(40, 6, seed=9, rank=1, world_size=2)
    full = list(StepBatches(order, 0, 12))
    assert len(full) == len(StepBatches(order, 0, 12)) == 12
    assert list(StepBatches(order, 7, 12)) == full[7:]
