"""FLOP accounting: executed counts agree with torch's FlopCounterMode; nominal follows the
published convention."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from eqscale.errors import EqscaleError
from eqscale.ga import products
from eqscale.models import build_model, flops_per_sample
from eqscale.models.flops import register_cpu_attention_flops
from eqscale.models.loss import task_loss
from eqscale.models.rigidity import apply_motion
from tests.models.synthetic import random_scene_batch

FACES, OBJECTS, BATCH = 8, 10, 2


@pytest.mark.parametrize("arch", ["transformer", "gatr"])
@pytest.mark.parametrize("size", [0, 1, 2])
def test_executed_matches_flop_counter(arch, size, monkeypatch):
    # the count charges every product at the sparse path's rate: force that path here (small
    # operands otherwise take the table path, which also multiplies the table's zeros)
    monkeypatch.setattr(products, "TABLE_PATH_MAX", 0)
    register_cpu_attention_flops()
    torch.manual_seed(0)
    model = build_model(arch, size, FACES)
    batch = random_scene_batch(BATCH, OBJECTS, FACES, verts=8, seed=size, dtype=torch.float32)
    with FlopCounterMode(display=False) as counter:
        loss = task_loss(apply_motion(model(batch), batch["verts_t"]), batch)
        loss.backward()
    measured = counter.get_total_flops() / BATCH
    counts = counter.get_flop_counts()["Global"]
    assert any("attention" in str(op) and n > 0 for op, n in counts.items())  # registered
    predicted = flops_per_sample(arch, size, OBJECTS, FACES).executed
    assert abs(predicted - measured) <= 0.1 * measured, (predicted, measured)


def _matrix_entries(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.dim() >= 2)


def test_transformer_nominal_is_six_per_weight_plus_attention():
    size, model = 2, build_model("transformer", 2, FACES)
    c = model.config
    tokens = OBJECTS * FACES
    pairs = (c.depth + 1) // 2 * OBJECTS * FACES**2 + c.depth // 2 * tokens**2
    expected = 6 * _matrix_entries(model) * tokens + 3 * 4 * c.width * pairs
    assert flops_per_sample("transformer", size, OBJECTS, FACES).nominal == expected


def test_gatr_nominal_counts_dense_multivector_blocks():
    from eqscale.nn import EquiLinear

    model = build_model("gatr", 1, FACES)
    dense = 0
    for m in model.modules():
        if isinstance(m, EquiLinear):
            dense += 256 * m.in_mv * m.out_mv + m.in_s * m.out_mv + (m.in_mv + m.in_s) * m.out_s
    count = flops_per_sample("gatr", 1, OBJECTS, FACES)
    weights_part = 6 * dense * OBJECTS * FACES
    assert weights_part < count.nominal < 1.5 * weights_part  # the rest is attention
    assert count.nominal > 3 * count.executed  # dense 16x16 blocks vs the 9-map fast path


def test_costs_grow_with_scene_and_accept_mean_object_counts():
    for arch in ("transformer", "gatr"):
        small = flops_per_sample(arch, 1, 3, FACES)
        mean = flops_per_sample(arch, 1, 6.5, FACES)
        big = flops_per_sample(arch, 1, 10, FACES)
        assert small.executed < mean.executed < big.executed
        assert small.nominal < mean.nominal < big.nominal
    with pytest.raises(EqscaleError):
        flops_per_sample("gatr", 0, 0, FACES)
    with pytest.raises(EqscaleError):
        flops_per_sample("gatr", 0, 5, 0)
