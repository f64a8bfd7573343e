"""Task models: baseline transformer and GATr, rigidity, size schedules, FLOP accounting.

``build_model(arch, size, faces_per_object)`` returns a ``torch.nn.Module`` whose
``forward(batch)`` gives each object's :class:`RigidMotion` from frame t to t+1
(docs/interfaces.md). docs/models.md describes both models, the schedules and the formulas.
"""

from __future__ import annotations

from torch import nn

from eqscale.errors import EqscaleError
from eqscale.models.flops import FlopCount, flops_per_sample
from eqscale.models.rigidity import RigidMotion, apply_motion
from eqscale.models.sizes import ARCHS, SIZES, parameter_count, size_config

TaskModel = nn.Module
"""The type ``build_model`` returns: ``forward(batch: dict[str, Tensor]) -> RigidMotion``."""


def build_model(arch: str, size: int | str, faces_per_object: int) -> TaskModel:
    """A freshly initialised task model of architecture ``arch`` at size index ``size``.

    Uses torch's global RNG for initialisation (seed it for reproducible weights).
    """
    config = size_config(arch, size)
    try:
        faces = int(faces_per_object)
    except (TypeError, ValueError):
        faces = 0
    if faces < 1 or faces != faces_per_object:
        raise EqscaleError(f"faces_per_object must be a positive integer, got {faces_per_object!r}")
    if arch == "transformer":
        from eqscale.models.transformer import TransformerTaskModel

        return TransformerTaskModel(config, faces)
    from eqscale.models.gatr_model import GATrTaskModel

    return GATrTaskModel(config, faces)


__all__ = [
    "ARCHS",
    "SIZES",
    "FlopCount",
    "RigidMotion",
    "TaskModel",
    "apply_motion",
    "build_model",
    "flops_per_sample",
    "parameter_count",
    "size_config",
]
