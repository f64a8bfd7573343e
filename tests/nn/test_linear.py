"""Equivariant linear maps: the 9 basis maps span all equivariant maps; fast == dense."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eqscale import ga
from eqscale.ga.testing import assert_equivariant, random_pin_element
from eqscale.nn import EquiLinear
from eqscale.nn.linear import basis_maps, equi_linear_dense, equi_linear_fast

F64 = torch.float64


@pytest.fixture()
def gen():
    return torch.Generator().manual_seed(21)


def action_matrix(u: torch.Tensor) -> np.ndarray:
    """The 16x16 matrix of x -> sandwich(u, x)."""
    return ga.sandwich(u, torch.eye(16, dtype=F64)).T.numpy()


def test_basis_maps_span_exactly_the_equivariant_maps(gen):
    """Solve M rho(g) = rho(g) M for random g: the solution space is 9-dimensional and equal to
    the span of the 9 basis maps."""
    eye = np.eye(16)
    rows = []
    for k in (1, 2, 3, 4, 3):
        rho = action_matrix(random_pin_element(gen, F64, num_reflections=k))
        rows.append(np.kron(eye, rho.T) - np.kron(rho, eye))  # vec(M rho - rho M), row-major
    singular = np.linalg.svd(np.concatenate(rows), compute_uv=False)
    assert int((singular < 1e-9).sum()) == 9
    basis = basis_maps(torch.device("cpu"), F64).reshape(9, 256).numpy()
    assert np.linalg.matrix_rank(basis) == 9
    for b in basis:  # each basis map solves the commutation equation
        for r in rows:
            assert np.abs(r @ b).max() < 1e-10


@pytest.mark.parametrize("dtype, tol", [(F64, 1e-12), (torch.float32, 1e-5)])
def test_fast_path_equals_dense_reference(gen, dtype, tol):
    x = torch.randn(3, 5, 7, 16, generator=gen, dtype=dtype, requires_grad=True)
    w = torch.randn(4, 7, 9, generator=gen, dtype=dtype, requires_grad=True)
    fast = equi_linear_fast(x, w)
    dense = equi_linear_dense(x, w)
    torch.testing.assert_close(fast, dense, rtol=tol, atol=tol)
    grads_fast = torch.autograd.grad(fast.square().sum(), (x, w))
    grads_dense = torch.autograd.grad(dense.square().sum(), (x, w))
    for a, b in zip(grads_fast, grads_dense):
        torch.testing.assert_close(a, b, rtol=tol, atol=100 * tol)


def test_layer_switches_to_dense_reference(gen):
    layer = EquiLinear(6, 4, 3, 2).double()
    mv = torch.randn(2, 6, 16, generator=gen, dtype=F64)
    s = torch.randn(2, 3, generator=gen, dtype=F64)
    fast = layer(mv, s)
    with ga.use_dense():
        assert ga.dense_enabled()
        dense = layer(mv, s)
    assert not ga.dense_enabled()
    for a, b in zip(fast, dense):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-9), (torch.float32, 1e-4)])
def test_layer_is_equivariant(gen, dtype, rtol):
    layer = EquiLinear(5, 3, 4, 6).to(dtype)
    mv = torch.randn(2, 8, 5, 16, generator=gen, dtype=dtype)
    s = torch.randn(2, 8, 4, generator=gen, dtype=dtype)
    with torch.no_grad():
        layer.mv_bias.normal_()
    assert_equivariant(lambda m: layer(m, s), [mv], outputs=("mv", "inv"), rtol=rtol,
                       generator=gen)


def test_scalar_paths_and_shapes(gen):
    layer = EquiLinear(2, 3, 0, 4).double()
    mv = torch.randn(7, 2, 16, generator=gen, dtype=F64)
    out_mv, out_s = layer(mv)
    assert out_mv.shape == (7, 3, 16) and out_s.shape == (7, 4)
    # the scalar output depends only on the grade-0 components
    other = mv.clone()
    other[..., 1:] = torch.randn(7, 2, 15, generator=gen, dtype=F64)
    torch.testing.assert_close(layer(other)[1], out_s)
    assert EquiLinear(2, 3)(mv.float())[1] is None
    with pytest.raises(ValueError, match="expected mv"):
        layer(torch.zeros(7, 3, 16, dtype=F64))
    with pytest.raises(ValueError, match="expected s"):
        EquiLinear(2, 3, 4, 0)(mv.float())


def test_fast_path_passes_gradcheck(gen):
    from eqscale.nn.linear import equi_linear_component_major

    xt = torch.randn(16, 3, 2, generator=gen, dtype=F64, requires_grad=True)
    w = torch.randn(3, 2, 9, generator=gen, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(equi_linear_component_major, (xt, w))
