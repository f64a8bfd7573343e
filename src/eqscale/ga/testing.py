"""Test helpers for Pin(3,0,1) equivariance, reusable by every layer's tests.

``random_pin_element`` draws a group element as a product of reflections in random general
planes (random unit normal, random offset), so translations, rotations and improper elements all
occur; by Cartan-Dieudonne four reflections reach every element of Pin(3,0,1).

``assert_equivariant`` checks ``fn(g.mv..., inv...) == g.fn(mv..., inv...)`` for a few random g.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from eqscale.ga.embed import embed_reflection, sandwich
from eqscale.ga.products import geometric_product


def random_pin_element(
    generator: torch.Generator,
    dtype: torch.dtype = torch.float64,
    *,
    num_reflections: int | None = None,
    offset_scale: float = 1.0,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """A random versor ``(16,)``: the product of ``num_reflections`` reflections (1-4, random
    when None) in planes with uniform unit normals and offsets ``~ N(0, offset_scale^2)``.

    An even count gives a proper motion (rotation + translation), an odd one an improper one.
    """
    if num_reflections is None:
        num_reflections = int(torch.randint(1, 5, (1,), generator=generator))
    if num_reflections < 1:
        raise ValueError("num_reflections must be at least 1")
    normals = torch.randn(num_reflections, 3, generator=generator, dtype=torch.float64)
    offsets = offset_scale * torch.randn(num_reflections, generator=generator,
                                         dtype=torch.float64)
    planes = embed_reflection(normals, offsets)
    versor = planes[0]
    for plane in planes[1:]:
        versor = geometric_product(versor, plane)
    return versor.to(device=device, dtype=dtype)


def _as_tuple(out: Any) -> tuple[Any, ...]:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def assert_equivariant(
    fn: Callable[..., Any],
    multivectors: Sequence[torch.Tensor],
    invariants: Sequence[Any] = (),
    *,
    outputs: str | Sequence[str] = "mv",
    rtol: float,
    generator: torch.Generator,
    trials: int = 3,
    num_reflections: Sequence[int] = (1, 2, 3, 4),
) -> float:
    """Assert that ``fn`` commutes with random Pin(3,0,1) elements; return the worst error.

    ``fn(*multivectors, *invariants)`` is called on the original inputs and on inputs whose
    multivectors ``(..., 16)`` are all transformed by the same random element g; ``invariants``
    (scalar channels, masks, ...) are passed unchanged. ``fn`` returns one tensor or a tuple;
    ``outputs`` says per output ``"mv"`` (must transform by g) or ``"inv"`` (must not change).
    For every trial and every entry of ``num_reflections`` an element is drawn with that many
    reflections (so even and odd elements are both checked). The relative error is
    ``max|f(g x) - g f(x)| / max|g f(x)|`` per output; it must be ``<= rtol``.
    """
    kinds = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    dtype, device = multivectors[0].dtype, multivectors[0].device
    base = _as_tuple(fn(*multivectors, *invariants))
    if len(base) != len(kinds):
        raise ValueError(f"fn returned {len(base)} outputs but outputs= names {len(kinds)}")
    worst = 0.0
    for trial in range(trials):
        for count in num_reflections:
            g = random_pin_element(generator, dtype, num_reflections=count, device=device)
            moved = [sandwich(g, x) for x in multivectors]
            got = _as_tuple(fn(*moved, *invariants))
            for index, (kind, y, y_moved) in enumerate(zip(kinds, base, got)):
                if kind == "mv":
                    expected = sandwich(g, y)
                elif kind == "inv":
                    expected = y
                else:
                    raise ValueError(f"output kind must be 'mv' or 'inv', got {kind!r}")
                scale = expected.abs().max().clamp_min(torch.finfo(dtype).tiny)
                err = float(((y_moved - expected).abs().max() / scale).detach())
                worst = max(worst, err)
                if not err <= rtol:
                    raise AssertionError(
                        f"not equivariant: output {index} ({kind}) has relative error "
                        f"{err:.3e} > {rtol:.1e} (trial {trial}, {count} reflections)"
                    )
    return worst
