"""The GATr task model: exactly E(3)-equivariant (reflections included), rigid, blind to padding."""

import copy

import pytest
import torch

from eqscale.ga import embed_point, extract_point, sandwich
from eqscale.ga.testing import assert_equivariant, random_pin_element
from eqscale.models import build_model
from eqscale.models.gatr_model import embed_scene, rotation_and_shift, scene_handedness
from eqscale.models.inputs import read_batch
from tests.models import properties as prop
from tests.models.synthetic import random_e3, transform_batch, transform_points


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model("gatr", 1, faces_per_object=6).double()
    with torch.no_grad():  # a random, non-trivial head so the tests see real outputs
        m.head.weight.normal_(0, 0.3)
    return m


@torch.no_grad()
def relative_error(model, batch, q, b) -> float:
    """|pred(g scene) - g pred(scene)| / |g pred(scene)| over real vertices."""
    moved = transform_points(prop.predicted_verts(model, batch), q, b)
    moved_batch = transform_batch(batch, q, b)
    pred_of_moved = prop.predicted_verts(model, moved_batch)
    m = batch["vert_mask"]
    return ((moved - pred_of_moved)[m].norm() / moved[m].norm()).item()


@pytest.mark.parametrize("reflect", [False, True], ids=["proper", "improper"])
def test_equivariant_in_float64(model, reflect):
    """Rotations + translations (and, as docs/models.md states, reflections): <= 1e-8."""
    for seed in range(3):
        batch = prop.small_batch(torch.float64, seed=10 + seed)
        q, b = random_e3(3, seed=20 + seed, reflect=reflect)
        assert relative_error(model, batch, q, b) <= 1e-8


def test_equivariant_in_float32(model):
    model32 = copy.deepcopy(model).float()
    batch = prop.small_batch(torch.float32, seed=30)
    q, b = random_e3(3, seed=31)
    assert relative_error(model32, batch, q.float(), b.float()) <= 1e-4


def test_motions_are_conjugated(model):
    """The predicted motion of a moved scene is g M g^-1: R' = Q R Q^T, t' = Q t + b - R' b."""
    batch = prop.small_batch(torch.float64, seed=40)
    q, b = random_e3(3, seed=41, reflect=True)
    ref, got = model(batch), model(transform_batch(batch, q, b))
    r_expected = q[:, None] @ ref.rotation @ q[:, None].transpose(-1, -2)
    t_expected = (torch.einsum("bij,bkj->bki", q, ref.translation) + b[:, None]
                  - torch.einsum("bkij,bj->bki", r_expected, b))
    real = batch["object_mask"]
    assert torch.allclose(got.rotation[real], r_expected[real], atol=1e-10)
    assert torch.allclose(got.translation[real], t_expected[real], atol=1e-9)
    eye = torch.eye(3, dtype=torch.float64)
    assert (ref.rotation[real] - eye).abs().max() > 1e-3  # the test is not vacuous


def _element_as_matrix(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The affine map x -> Q x + b of a versor, read from its action on four points."""
    basis = torch.cat([torch.zeros(1, 3), torch.eye(3)]).double()
    images = extract_point(sandwich(g, embed_point(basis)))
    return (images[1:] - images[0]).T, images[0]


def test_embedding_is_the_pin_action():
    """Embedding a transformed scene equals the Pin(3,0,1) action on the embedding, for even and
    odd elements: the scene handedness supplies the sign reflections give to points."""
    gen = torch.Generator().manual_seed(5)
    batch = prop.small_batch(torch.float64, seed=50)
    mv, s = embed_scene(read_batch(batch, 6, torch.float64))
    for count in (1, 2, 3, 4):
        g = random_pin_element(gen, num_reflections=count)
        q, b = _element_as_matrix(g)
        qs, bs = q.expand(3, 3, 3), b.expand(3, 3)
        mv_moved, s_moved = embed_scene(read_batch(transform_batch(batch, qs, bs), 6,
                                                   torch.float64))
        assert torch.allclose(mv_moved, sandwich(g, mv), atol=1e-9)
        assert torch.equal(s_moved, s)


def test_network_is_pin_equivariant(model):
    """The hierarchical network on embedded tokens commutes with random Pin elements."""
    batch = prop.small_batch(torch.float64, seed=60)
    mv, s = embed_scene(read_batch(batch, 6, torch.float64))
    mask = batch["face_mask"] & batch["object_mask"][..., None]
    err = assert_equivariant(lambda x: model.token_outputs(x, s, mask), [mv], rtol=1e-9,
                             generator=torch.Generator().manual_seed(6), trials=1)
    assert err <= 1e-9


def test_output_form_is_rotation_about_centroid_plus_shift():
    """The head's rotation and shift ignore translations and follow O(3): for every Pin element
    g = (Q, b), outputs g . out give (Q R Q^T, Q t); a zero output is no spin and no shift."""
    gen = torch.Generator().manual_seed(8)
    out = torch.randn(2, 5, 16, generator=gen, dtype=torch.float64)
    rotation, shift = rotation_and_shift(out)
    for count in (1, 2, 3, 4):
        g = random_pin_element(gen, num_reflections=count)
        q, _ = _element_as_matrix(g)
        moved_rotation, moved_shift = rotation_and_shift(sandwich(g, out))
        torch.testing.assert_close(moved_rotation, q @ rotation @ q.T, rtol=0, atol=1e-10)
        torch.testing.assert_close(moved_shift, shift @ q.T, rtol=0, atol=1e-10)
    eye, zero = rotation_and_shift(torch.zeros(3, 16, dtype=torch.float64))
    assert torch.equal(eye, torch.eye(3, dtype=torch.float64).expand(3, 3, 3))
    assert torch.equal(zero, torch.zeros(3, 3, dtype=torch.float64))


def test_zero_head_predicts_rigid_constant_velocity(model):
    prop.assert_zero_head_is_rigid_constant_velocity(model, prop.small_batch(torch.float64, 12))


def test_handedness_flips_exactly_under_reflections():
    batch = prop.small_batch(torch.float64, seed=70)

    def hand(bt):
        inp = read_batch(bt, 6, torch.float64)
        return scene_handedness(inp.faces_t, inp.face_mask, inp.centroid)

    h = hand(batch)
    assert torch.equal(hand(transform_batch(batch, *random_e3(3, 71))), h)
    assert torch.equal(hand(transform_batch(batch, *random_e3(3, 72, reflect=True))), -h)


def test_predicted_objects_are_rigid(model):
    model32 = copy.deepcopy(model).float()
    prop.assert_pairwise_distances_kept(model32, prop.small_batch(torch.float32, seed=2))
    prop.assert_proper_rigid(model(prop.small_batch(torch.float64, seed=3)), atol=1e-10)


def test_permuting_objects_permutes_outputs(model):
    prop.assert_object_permutation_equivariant(model, prop.small_batch(torch.float64, seed=3))


def test_padding_does_not_change_real_outputs(model):
    prop.assert_padding_ignored(model, prop.small_batch(torch.float64, seed=4))


def test_learns_a_batch():
    prop.assert_learns_a_batch("gatr")


def test_rigid_under_bf16_autocast(model):
    model32 = copy.deepcopy(model).float()
    prop.assert_rigid_under_bf16_autocast(model32, prop.small_batch(torch.float32, seed=9))


def test_object_without_faces_is_treated_as_padding(model):
    prop.assert_faceless_object_is_padding(model, prop.small_batch(torch.float64, seed=11))
