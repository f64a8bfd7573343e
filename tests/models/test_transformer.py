"""The baseline transformer: rigid, permutation-equivariant, blind to padding, not E(3)."""

import copy

import pytest
import torch

from eqscale.errors import EqscaleError
from eqscale.models import build_model
from eqscale.models.sizes import TRANSFORMER_SIZES
from tests.models import properties as prop
from tests.models.synthetic import random_e3, transform_batch, transform_points


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model("transformer", 1, faces_per_object=6)
    with torch.no_grad():  # a random but non-trivial head, so the tests see real outputs
        m.head.weight.normal_(0, 0.3)
        m.head.bias.normal_(0, 0.3)
    return m.double()


def test_output_is_a_proper_rigid_motion(model):
    batch = prop.small_batch(torch.float64)
    motion = model(batch)
    assert motion.rotation.shape == (3, 5, 3, 3) and motion.translation.shape == (3, 5, 3)
    prop.assert_proper_rigid(motion, atol=1e-10)
    eye = torch.eye(3, dtype=torch.float64)
    assert (motion.rotation[batch["object_mask"]] - eye).abs().max() > 1e-3  # not trivial


def test_predicted_objects_are_rigid(model):
    model32 = copy.deepcopy(model).float()
    prop.assert_pairwise_distances_kept(model32, prop.small_batch(torch.float32, seed=2))


def test_permuting_objects_permutes_outputs(model):
    prop.assert_object_permutation_equivariant(model, prop.small_batch(torch.float64, seed=3))


def test_padding_does_not_change_real_outputs(model):
    prop.assert_padding_ignored(model, prop.small_batch(torch.float64, seed=4))


def test_is_not_e3_equivariant(model):
    """Sanity check of the equivariance test: the baseline fails it by a wide margin."""
    batch = prop.small_batch(torch.float64, seed=5)
    q, b = random_e3(3, seed=6)
    moved = transform_points(prop.predicted_verts(model, batch), q, b)
    pred_of_moved = prop.predicted_verts(model, transform_batch(batch, q, b))
    m = batch["vert_mask"]
    rel = (moved - pred_of_moved)[m].norm() / moved[m].norm()
    assert rel > 1e-4


def test_untrained_model_is_close_to_rigid_constant_velocity():
    """A fresh model starts near the rigid constant-velocity prior (small head); with a zero
    head it predicts exactly that."""
    from eqscale.models.rigidity import last_rotation

    torch.manual_seed(1)
    model = build_model("transformer", 0, faces_per_object=6).double()
    batch = prop.small_batch(torch.float64, seed=7)
    motion = model(batch)
    m = batch["object_mask"]
    prior = last_rotation(batch["verts_prev"], batch["verts_t"], batch["vert_mask"])
    assert (motion.rotation - prior)[m].abs().max() < 0.2
    prop.assert_zero_head_is_rigid_constant_velocity(model, batch)


def test_learns_a_batch():
    """A few optimiser steps reduce the task loss: the gradient reaches every parameter."""
    prop.assert_learns_a_batch("transformer")


def test_wrong_face_count_is_a_user_error(model):
    batch = prop.small_batch(torch.float64, faces=4)
    with pytest.raises(EqscaleError, match="faces_per_object"):
        model(batch)


def test_missing_key_is_a_user_error(model):
    batch = prop.small_batch(torch.float64)
    del batch["floor"]
    with pytest.raises(EqscaleError, match="floor"):
        model(batch)


def test_schedule_has_heads_dividing_width():
    for c in TRANSFORMER_SIZES:
        assert c.width % c.heads == 0


def test_rigid_under_bf16_autocast(model):
    model32 = copy.deepcopy(model).float()
    prop.assert_rigid_under_bf16_autocast(model32, prop.small_batch(torch.float32, seed=9))


def test_object_without_faces_is_treated_as_padding(model):
    prop.assert_faceless_object_is_padding(model, prop.small_batch(torch.float64, seed=11))
