"""The task loss (docs/models.md, The task): per-object mean squared vertex error."""

import pytest
import torch

from eqscale.errors import EqscaleError
from eqscale.models.loss import task_loss
from eqscale.models.rigidity import RigidMotion, apply_motion
from tests.models.synthetic import random_scene_batch


def test_true_motion_gives_zero_loss():
    batch = random_scene_batch(seed=0)
    motion = RigidMotion(batch["true_rotation"], batch["true_translation"])
    assert float(task_loss(apply_motion(motion, batch["verts_t"]), batch)) < 1e-20


def test_known_value_and_equal_object_weights():
    batch = random_scene_batch(batch_size=2, objects=3, seed=1)
    pred = batch["verts_next"].clone()
    # Shift object (0, first real) by 1 and, elsewhere, nothing: loss = 1 / (real objects).
    first = int(batch["object_mask"][0].nonzero()[0])
    pred[0, first] += torch.tensor([0.0, 0.6, 0.8], dtype=pred.dtype)
    n_real = int(batch["object_mask"].sum())
    assert torch.isclose(task_loss(pred, batch), torch.tensor(1.0 / n_real, dtype=pred.dtype))


def test_padding_is_ignored_even_if_not_finite():
    batch = random_scene_batch(seed=2)
    pred = batch["verts_next"].clone()
    pred[~batch["vert_mask"]] = float("nan")
    loss = task_loss(pred, batch)
    assert torch.isfinite(loss) and float(loss) == 0.0


def test_bad_input_raises():
    batch = random_scene_batch(seed=3)
    with pytest.raises(EqscaleError, match="shape"):
        task_loss(batch["verts_next"][:, :, :2], batch)
    batch["object_mask"] = torch.zeros_like(batch["object_mask"])
    with pytest.raises(EqscaleError, match="no real objects"):
        task_loss(batch["verts_next"], batch)
