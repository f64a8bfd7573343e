"""Projective geometric algebra G(3,0,1) on tensors ``(..., 16)`` (basis order in
docs/conventions.md, which also gives the sign conventions).

Public names are re-exported here lazily: importing the torch-free :mod:`eqscale.ga.basis`
(as cost formulas do) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "embed": ("embed_plane", "embed_point", "embed_reflection", "embed_rotation",
              "embed_translation", "extract_point", "inverse_versor", "sandwich",
              "versor_parity"),
    "products": ("dense_enabled", "dual", "geometric_product", "grade_involute", "grade_project",
                 "inner_product", "join", "outer_product", "regressive_product", "reverse",
                 "undual", "use_dense"),
    "basis": ("BLADE_NAMES", "BLADES", "GRADE_SLICES", "GRADES", "PSEUDOSCALAR", "blade",
              "blade_slice"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"eqscale.ga.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'eqscale.ga' has no attribute {name!r}")
