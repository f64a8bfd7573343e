"""Reference predictors: exact where their physics holds, scored like a model."""

import torch

from eqscale.models.loss import task_loss
from eqscale.models.reference import REFERENCES, constant_velocity, no_motion, skill
from tests.models.synthetic import random_scene_batch


def test_constant_velocity_is_exact_for_uniform_motion_and_no_motion_for_rest():
    batch = random_scene_batch(3, 5, 6, 7, seed=4)
    v = torch.randn(3, 5, 1, 3, dtype=torch.float64)  # one velocity per object
    moving = {**batch, "verts_prev": batch["verts_t"] - v, "verts_next": batch["verts_t"] + v}
    assert task_loss(constant_velocity(moving), moving) < 1e-24
    assert task_loss(no_motion(moving), moving) > 0.1
    resting = {**batch, "verts_prev": batch["verts_t"], "verts_next": batch["verts_t"]}
    assert task_loss(no_motion(resting), resting) == 0
    assert task_loss(constant_velocity(resting), resting) == 0


def test_references_ignore_padding_and_skill_is_relative_to_constant_velocity():
    batch = random_scene_batch(2, 4, 6, 7, seed=5)
    junk = {**batch, "verts_prev": torch.where(batch["vert_mask"][..., None],
                                               batch["verts_prev"], torch.nan)}
    for predict in REFERENCES.values():
        assert torch.isfinite(task_loss(predict(junk), junk))
    assert skill(0.25, 1.0) == 0.75 and skill(2.0, 1.0) == -1.0
    assert skill(None, 1.0) is None and skill(1.0, 0.0) is None
