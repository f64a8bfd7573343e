"""Projective geometric algebra G(3,0,1) on tensors ``(..., 16)`` (basis order of SPEC 4).

Public names are re-exported here; sign conventions are in docs/conventions.md.
"""

from eqscale.ga.embed import (
    embed_plane,
    embed_point,
    embed_reflection,
    embed_rotation,
    embed_translation,
    extract_point,
    inverse_versor,
    sandwich,
    versor_parity,
)
from eqscale.ga.products import (
    dense_enabled,
    dual,
    geometric_product,
    grade_involute,
    grade_project,
    inner_product,
    join,
    outer_product,
    regressive_product,
    reverse,
    undual,
    use_dense,
)
from eqscale.ga.tables import BLADE_NAMES, BLADES, GRADE_SLICES, GRADES

__all__ = [
    "BLADES", "BLADE_NAMES", "GRADES", "GRADE_SLICES",
    "geometric_product", "outer_product", "inner_product", "regressive_product", "join",
    "reverse", "grade_involute", "dual", "undual", "grade_project",
    "embed_point", "extract_point", "embed_plane", "embed_translation", "embed_rotation",
    "embed_reflection", "sandwich", "inverse_versor", "versor_parity",
    "use_dense", "dense_enabled",
]
