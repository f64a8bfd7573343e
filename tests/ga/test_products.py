"""Products of G(3,0,1) against the independent kingdon library, and algebra laws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from eqscale import ga
from eqscale.ga import products, tables

N = 64
KEYS = tuple(sum(1 << g for g in blade) for blade in tables.BLADES)  # kingdon's binary keys


@pytest.fixture(scope="module")
def alg():
    """kingdon's G(3,0,1); only the comparisons with kingdon skip when it is missing, not the
    algebra-law tests."""
    kingdon = pytest.importorskip("kingdon")
    return kingdon.Algebra(3, 0, 1)


def to_kingdon(alg, x: torch.Tensor):
    return alg.multivector(values=x.T.numpy(), keys=KEYS)


def from_kingdon(mv, n: int = N) -> torch.Tensor:
    values = dict(zip(mv.keys(), np.asarray(mv.values())))
    cols = [np.broadcast_to(values.get(k, 0.0), (n,)) for k in KEYS]
    return torch.tensor(np.stack(cols, axis=-1))


@pytest.fixture()
def xy():
    g = torch.Generator().manual_seed(11)
    return (torch.randn(N, 16, generator=g, dtype=torch.float64),
            torch.randn(N, 16, generator=g, dtype=torch.float64))


def test_basis_names_match_kingdon(alg):
    assert list(alg.blades.keys())[1:] == list(tables.BLADE_NAMES)[1:]
    assert [alg.canon2bin[name] for name in list(alg.blades.keys())] == list(KEYS)


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (ga.geometric_product, lambda a, b: a * b),
        (ga.outer_product, lambda a, b: a ^ b),
        (ga.regressive_product, lambda a, b: a & b),
    ],
    ids=["geometric", "outer", "regressive"],
)
def test_bilinear_products_match_kingdon(alg, xy, ours, theirs, dense):
    x, y = xy
    expected = from_kingdon(theirs(to_kingdon(alg, x), to_kingdon(alg, y)))
    with ga.use_dense(dense):
        got = ours(x, y)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (ga.reverse, lambda a: a.reverse()),
        (ga.grade_involute, lambda a: a.involute()),
        (ga.dual, lambda a: a.dual()),
        (ga.undual, lambda a: a.undual()),
    ],
    ids=["reverse", "involute", "dual", "undual"],
)
def test_unary_maps_match_kingdon(alg, xy, ours, theirs):
    x, _ = xy
    torch.testing.assert_close(ours(x), from_kingdon(theirs(to_kingdon(alg, x))),
                               rtol=0, atol=1e-14)


def test_inner_product_is_scalar_part_of_reverse_product(alg, xy):
    x, y = xy
    expected = from_kingdon((to_kingdon(alg, x).reverse() * to_kingdon(alg, y)).grade(0))
    torch.testing.assert_close(ga.inner_product(x, y), expected[:, :1], rtol=1e-12, atol=1e-12)


def test_grade_project_sums_to_identity_and_is_idempotent(xy):
    x, _ = xy
    parts = ga.grade_project(x)
    assert parts.shape == (N, 5, 16)
    torch.testing.assert_close(parts.sum(-2), x)
    for k in range(5):
        torch.testing.assert_close(ga.grade_project(ga.grade_project(x, k), k), parts[:, k])
    with pytest.raises(ValueError, match="grade"):
        ga.grade_project(x, 5)


def test_sparse_tables_hold_only_nonzero_terms():
    cpu = torch.device("cpu")
    counts = {"geometric": 192, "outer": 81, "regressive": 81}
    for name, count in counts.items():
        for plan in tables.sparse_plans(name, cpu, torch.float64):  # product and both gradients
            assert plan.n_terms == count
            assert sum(int((s != 0).sum()) for s in plan.signs) == count
    dense = tables.dense_table("geometric", torch.device("cpu"), torch.float64)
    assert int((dense != 0).sum()) == 192
    # cached per device and dtype: the same object comes back
    assert tables.dense_table("geometric", torch.device("cpu"), torch.float32) is \
        tables.dense_table("geometric", torch.device("cpu"), torch.float32)


def test_metric_and_pseudoscalar():
    e = torch.eye(16, dtype=torch.float64)
    squares = ga.geometric_product(e, e)[:, 0]
    assert squares[1] == 0 and squares[2] == squares[3] == squares[4] == 1
    assert squares[14] == -1  # e123^2 = -1
    torch.testing.assert_close(ga.outer_product(ga.outer_product(e[1], e[2]),
                                                ga.outer_product(e[3], e[4])), e[15])


mv_strategy = st.lists(st.floats(-10, 10, allow_nan=False), min_size=16, max_size=16).map(
    lambda v: torch.tensor(v, dtype=torch.float64)
)


@settings(max_examples=40, deadline=None)
@given(mv_strategy, mv_strategy, mv_strategy)
def test_algebra_laws(a, b, c):
    gp, op = ga.geometric_product, ga.outer_product
    tol = dict(rtol=1e-10, atol=1e-8)
    torch.testing.assert_close(gp(gp(a, b), c), gp(a, gp(b, c)), **tol)  # associativity
    torch.testing.assert_close(op(op(a, b), c), op(a, op(b, c)), **tol)
    torch.testing.assert_close(gp(a, b + c), gp(a, b) + gp(a, c), **tol)  # distributivity
    torch.testing.assert_close(gp(a + b, c), gp(a, c) + gp(b, c), **tol)
    torch.testing.assert_close(ga.reverse(gp(a, b)), gp(ga.reverse(b), ga.reverse(a)), **tol)
    torch.testing.assert_close(ga.grade_involute(gp(a, b)),
                               gp(ga.grade_involute(a), ga.grade_involute(b)), **tol)
    torch.testing.assert_close(ga.undual(ga.dual(a)), a)


def test_products_broadcast_and_keep_gradients():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 1, 16, generator=g, requires_grad=True)
    y = torch.randn(1, 4, 16, generator=g)
    out = ga.geometric_product(x, y)
    assert out.shape == (3, 4, 16)
    out.square().sum().backward()
    with ga.use_dense():
        x2 = x.detach().clone().requires_grad_(True)
        ga.geometric_product(x2, y).square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-5)


FAST_PATHS = [products.sparse_bilinear, products.table_bilinear]
PRODUCTS = ["geometric", "outer", "regressive"]


@pytest.mark.parametrize("path", FAST_PATHS, ids=["sparse", "table"])
@pytest.mark.parametrize("name", PRODUCTS)
def test_fast_paths_pass_gradcheck(path, name):
    g = torch.Generator().manual_seed(2)
    u, v = (torch.randn(16, 3, 2, generator=g, dtype=torch.float64, requires_grad=True)
            for _ in range(2))
    assert torch.autograd.gradcheck(lambda a, b: path(name, a, b), (u, v))


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("path", FAST_PATHS, ids=["sparse", "table"])
@pytest.mark.parametrize("name", PRODUCTS)
def test_fast_paths_equal_the_dense_table_forward_and_backward(path, name, dtype, tol):
    """Values and both gradients, on strided channel slices (as the bilinear layer passes)."""
    g = torch.Generator().manual_seed(5)
    both = torch.randn(16, 7, 6, generator=g, dtype=dtype, requires_grad=True)
    grad_out = torch.randn(16, 7, 3, generator=g, dtype=dtype)
    out = path(name, both[..., :3], both[..., 3:])
    (grad_fast,) = torch.autograd.grad(out, both, grad_out)
    table = tables.dense_table(name, both.device, dtype)
    dense = torch.einsum("imc,jmc,ijk->kmc", both[..., :3], both[..., 3:], table)
    (grad_dense,) = torch.autograd.grad(dense, both, grad_out)
    torch.testing.assert_close(out, dense, rtol=tol, atol=tol)
    torch.testing.assert_close(grad_fast, grad_dense, rtol=tol, atol=tol)


@pytest.mark.parametrize("columns, expected", [(products.TABLE_PATH_MAX, "table_bilinear"),
                                               (products.TABLE_PATH_MAX + 1, "sparse_bilinear")])
def test_products_choose_their_path_by_operand_size(monkeypatch, columns, expected):
    called = []
    for path in ("sparse_bilinear", "table_bilinear"):
        original = getattr(products, path)
        monkeypatch.setattr(products, path, lambda *a, _p=path, _f=original: (called.append(_p),
                                                                               _f(*a))[1])
    g = torch.Generator().manual_seed(6)
    x, y = (torch.randn(columns, 16, generator=g, dtype=torch.float64) for _ in range(2))
    out = ga.geometric_product(x, y)
    assert called == [expected]
    with ga.use_dense():
        torch.testing.assert_close(out, ga.geometric_product(x, y), rtol=1e-12, atol=1e-12)


def test_chunked_evaluation_matches_dense_on_many_columns():
    """More columns than one chunk, and a ragged last chunk."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5000, 16, generator=g, dtype=torch.float64)
    y = torch.randn(5000, 16, generator=g, dtype=torch.float64)
    with ga.use_dense():
        expected = ga.geometric_product(x, y)
    torch.testing.assert_close(ga.geometric_product(x, y), expected, rtol=1e-12, atol=1e-12)


def test_mixed_dtypes_promote():
    x = torch.randn(4, 16, dtype=torch.float32)
    y = torch.randn(4, 16, dtype=torch.float64)
    out = ga.geometric_product(x, y)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, ga.geometric_product(x.double(), y))


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-9), (torch.float32, 1e-4)])
def test_primitives_are_equivariant(dtype, rtol):
    from eqscale.ga.testing import assert_equivariant

    g = torch.Generator().manual_seed(8)
    x, y, ref = (torch.randn(6, 16, generator=g, dtype=dtype) for _ in range(3))
    check = dict(rtol=rtol, generator=g, trials=2)
    assert_equivariant(ga.geometric_product, [x, y], **check)
    assert_equivariant(ga.outer_product, [x, y], **check)
    assert_equivariant(ga.join, [x, y, ref], **check)
    assert_equivariant(ga.reverse, [x], **check)
    assert_equivariant(ga.grade_involute, [x], **check)
    assert_equivariant(ga.grade_project, [x], **check)  # all five grades, (..., 5, 16)
    assert_equivariant(ga.inner_product, [x, y], outputs="inv", **check)
    with ga.use_dense():
        assert_equivariant(ga.geometric_product, [x, y], **check)
        assert_equivariant(ga.join, [x, y, ref], **check)
