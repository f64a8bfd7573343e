"""Layer norm and scalar-gated GELU: equivariance and what they compute."""

from __future__ import annotations

import pytest
import torch

from eqscale import ga
from eqscale.ga.testing import assert_equivariant
from eqscale.nn import EquiLayerNorm, ScalarGatedGELU


@pytest.fixture()
def gen():
    return torch.Generator().manual_seed(3)


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-9), (torch.float32, 1e-4)])
@pytest.mark.parametrize("layer", [EquiLayerNorm(), ScalarGatedGELU()], ids=["norm", "gelu"])
def test_pointwise_layers_are_equivariant(gen, layer, dtype, rtol):
    mv = torch.randn(2, 6, 4, 16, generator=gen, dtype=dtype)
    s = torch.randn(2, 6, 5, generator=gen, dtype=dtype)
    assert_equivariant(lambda m: layer(m, s), [mv], outputs=("mv", "inv"), rtol=rtol,
                       generator=gen)


def test_layer_norm_normalises_invariant_norm(gen):
    mv = 50.0 * torch.randn(3, 8, 16, generator=gen, dtype=torch.float64)
    s = torch.randn(3, 5, generator=gen, dtype=torch.float64) * 7 + 2
    out_mv, out_s = EquiLayerNorm(eps=0.0)(mv, s)
    torch.testing.assert_close(ga.inner_product(out_mv, out_mv).mean(-2).squeeze(-1),
                               torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(out_s.mean(-1), torch.zeros(3, dtype=torch.float64))


def test_gated_gelu_gates_by_scalar_component():
    mv = torch.zeros(2, 16)
    mv[:, 0] = torch.tensor([-10.0, 10.0])
    mv[:, 5] = 1.0
    out, _ = ScalarGatedGELU()(mv, torch.zeros(2, 0))
    assert abs(out[0, 5]) < 1e-6 and abs(out[1, 5] - 10.0) < 1e-4
