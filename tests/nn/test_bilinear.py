"""Geometric bilinear layer and its reference multivector."""

from __future__ import annotations

import pytest
import torch

from eqscale import ga
from eqscale.ga.testing import assert_equivariant
from eqscale.nn import GeometricBilinear, reference_multivector


@pytest.fixture()
def gen():
    return torch.Generator().manual_seed(4)


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-9), (torch.float32, 1e-4)])
def test_bilinear_is_equivariant(gen, dtype, rtol):
    layer = GeometricBilinear(4, 6, 3, 5).to(dtype)
    mv = torch.randn(2, 5, 4, 16, generator=gen, dtype=dtype)
    s = torch.randn(2, 5, 3, generator=gen, dtype=dtype)
    mask = torch.ones(2, 5, 5, dtype=torch.bool)
    mask[:, :, -1] = False  # last token is padding

    def fn(m):
        return layer(m, s, reference_multivector(m, mask))

    assert_equivariant(fn, [mv], outputs=("mv", "inv"), rtol=rtol, generator=gen)


def test_bilinear_fast_equals_dense(gen):
    layer = GeometricBilinear(3, 4, 2, 2).double()
    mv = torch.randn(2, 5, 3, 16, generator=gen, dtype=torch.float64)
    s = torch.randn(2, 5, 2, generator=gen, dtype=torch.float64)
    ref = reference_multivector(mv)
    fast = layer(mv, s, ref)
    with ga.use_dense():
        dense = layer(mv, s, ref)
    for a, b in zip(fast, dense):
        torch.testing.assert_close(a, b, rtol=1e-11, atol=1e-11)


def test_reference_ignores_padding_tokens(gen):
    mv = torch.randn(2, 4, 3, 16, generator=gen, dtype=torch.float64)
    mask = torch.ones(2, 4, 4, dtype=torch.bool)
    mask[1, :, 2:] = False  # sample 1: tokens 2 and 3 are padding (nobody attends to them)
    ref = reference_multivector(mv, mask)
    assert ref.shape == (2, 1, 1, 16)
    torch.testing.assert_close(ref[0, 0, 0], mv[0].mean(dim=(0, 1)))
    torch.testing.assert_close(ref[1, 0, 0], mv[1, :2].mean(dim=(0, 1)))
    torch.testing.assert_close(reference_multivector(mv), mv.mean(dim=(1, 2), keepdim=True))
