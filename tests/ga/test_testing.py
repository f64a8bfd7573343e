"""The equivariance helper itself: it passes true equivariants and catches broken layers."""

from __future__ import annotations

import pytest
import torch

from eqscale import ga
from eqscale.ga.testing import assert_equivariant, random_pin_element

F64 = torch.float64


@pytest.fixture()
def gen():
    return torch.Generator().manual_seed(7)


def test_random_pin_elements_include_translations_and_both_parities(gen):
    translated, parities = 0, set()
    origin = ga.embed_point(torch.zeros(3, dtype=F64))
    for _ in range(20):
        u = random_pin_element(gen, F64)
        parities.add(bool(ga.versor_parity(u)))
        moved = ga.extract_point(ga.sandwich(u, origin))
        translated += int(moved.norm() > 1e-3)
    assert parities == {True, False}
    assert translated >= 15  # general planes: the origin almost never stays put


def test_random_pin_element_dtype_and_device(gen):
    u = random_pin_element(gen, torch.float32, num_reflections=2)
    assert u.dtype == torch.float32 and u.shape == (16,)
    with pytest.raises(ValueError):
        random_pin_element(gen, num_reflections=0)


def test_helper_accepts_equivariant_functions(gen):
    x = torch.randn(5, 16, generator=gen, dtype=F64)
    y = torch.randn(5, 16, generator=gen, dtype=F64)
    err = assert_equivariant(ga.geometric_product, [x, y], rtol=1e-9, generator=gen)
    assert err < 1e-12
    assert_equivariant(ga.inner_product, [x, y], outputs="inv", rtol=1e-9, generator=gen)


@pytest.mark.parametrize(
    "broken",
    [
        lambda x: x + torch.eye(16, dtype=F64)[2],  # constant vector bias: not translation-safe
        lambda x: x * torch.arange(16, dtype=F64),  # component-wise weights within a grade
        lambda x: ga.regressive_product(x, x.roll(1, 0)),  # join without reference: sign flips
        lambda x: ga.grade_project(x, 1) + ga.grade_project(x, 3).roll(1, -1),  # mixes grades
    ],
    ids=["bias", "per-component", "join-no-reference", "grade-mixing"],
)
def test_helper_catches_non_equivariant_functions(gen, broken):
    x = torch.randn(5, 16, generator=gen, dtype=F64)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(broken, [x], rtol=1e-6, generator=gen)


def test_helper_catches_a_non_equivariant_layer(gen):
    """A plausible-looking layer: a full unconstrained 16x16 mixing matrix."""
    layer = torch.nn.Linear(16, 16, bias=False).double()
    x = torch.randn(5, 16, generator=gen, dtype=F64)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(layer, [x], rtol=1e-4, generator=gen)


def test_helper_checks_invariant_outputs_and_passes_invariants_through(gen):
    x = torch.randn(5, 16, generator=gen, dtype=F64)
    s = torch.randn(5, 1, generator=gen, dtype=F64)
    assert_equivariant(lambda m, sc: (m * sc, ga.inner_product(m, m) + sc), [x], [s],
                       outputs=("mv", "inv"), rtol=1e-9, generator=gen)
    with pytest.raises(AssertionError, match=r"output 1 \(inv\)"):
        assert_equivariant(lambda m: (m, m[..., 1:2]), [x], outputs=("mv", "inv"),
                           rtol=1e-6, generator=gen)
    with pytest.raises(ValueError, match="outputs"):
        assert_equivariant(lambda m: (m, m), [x], outputs="mv", rtol=1e-6, generator=gen)
