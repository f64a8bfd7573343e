"""Task models: baseline transformer and GATr, rigidity, size schedules, FLOP accounting.

``build_model(arch, size, faces_per_object)`` returns a ``torch.nn.Module`` whose
``forward(batch)`` gives each object's :class:`RigidMotion` from frame t to t+1
(docs/interfaces.md). docs/models.md describes both models, the schedules and the formulas.
The architecture registry (:mod:`eqscale.models.registry`), the size schedules and their cost
formulas (:mod:`eqscale.models.sizes`) import no torch; the modules are imported when a model is
built.
"""

from __future__ import annotations

from typing import Any

from eqscale.errors import EqscaleError
from eqscale.models.registry import (
    Architecture,
    architecture,
    flops_per_sample,
    names,
    parameter_count,
    register,
    size_config,
)
from eqscale.models.sizes import FlopCount


def build_model(arch: str, size: int | str, faces_per_object: int) -> Any:
    """A freshly initialised task model (a ``torch.nn.Module``) of architecture ``arch`` at
    size index ``size``. Uses torch's global RNG for initialisation (seed it for reproducible
    weights)."""
    config = size_config(arch, size)
    try:
        faces = int(faces_per_object)
    except (TypeError, ValueError):
        faces = 0
    if faces < 1 or faces != faces_per_object:
        raise EqscaleError(f"faces_per_object must be a positive integer, got {faces_per_object!r}")
    return architecture(arch).build(config, faces)


def __getattr__(name: str) -> Any:
    if name in ("RigidMotion", "apply_motion"):
        from eqscale.models import rigidity

        return getattr(rigidity, name)
    raise AttributeError(f"module 'eqscale.models' has no attribute {name!r}")


__all__ = [
    "Architecture",
    "FlopCount",
    "RigidMotion",
    "apply_motion",
    "architecture",
    "build_model",
    "flops_per_sample",
    "names",
    "parameter_count",
    "register",
    "size_config",
]
