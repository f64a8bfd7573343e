"""The worked example of a third architecture (examples/principal_axes.py): a transformer that
reads each object in its principal-axes frame (its study test: tests/study/test_third_arm.py)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

from eqscale.models import build_model
from eqscale.models.registry import names, unregister
from tests.models import properties as prop
from tests.models.synthetic import random_e3, transform_batch, transform_points

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture()
def principal_axes():
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = importlib.import_module("principal_axes")
        if "principal_axes" not in names():  # imported before and unregistered since
            module = importlib.reload(module)
        yield module
    finally:
        unregister("principal_axes")
        sys.path.remove(str(EXAMPLES))


def test_frames_make_it_equivariant_to_rotations_and_translations(principal_axes):
    """Its inputs are invariant, so for objects with distinct principal spreads its
    predictions move with the scene (float64, <= 1e-8), unlike the plain transformer's; under
    reflections it is only approximately equivariant (the frames are right-handed)."""
    torch.manual_seed(0)
    model = build_model("principal_axes", 1, faces_per_object=6).double()
    plain = build_model("transformer", 1, faces_per_object=6).double()
    for m in (model, plain):
        with torch.no_grad():
            m.head.weight.normal_(0, 0.3)  # a head that does something
    batch = prop.small_batch(torch.float64, seed=5)
    q, b = random_e3(3, seed=6)

    def error(m):
        with torch.no_grad():
            moved = transform_points(prop.predicted_verts(m, batch), q, b)
            got = prop.predicted_verts(m, transform_batch(batch, q, b))
        real = batch["vert_mask"]
        return ((moved - got)[real].norm() / moved[real].norm()).item()

    assert error(model) <= 1e-8 and error(plain) > 1e-4
