"""GATr layers: equivariant linear, bilinear, norm, gated nonlinearity, attention, block, network.

Every layer maps ``(mv (..., C, 16), s (..., S))`` to the same pair and is exactly
Pin(3,0,1)-equivariant. ``eqscale.ga.use_dense()`` switches linear maps and products to their
dense slow references.
"""

from eqscale.nn.attention import GeometricAttention, distance_features
from eqscale.nn.bilinear import GeometricBilinear, reference_multivector
from eqscale.nn.block import GATrBlock, GeometricMLP
from eqscale.nn.gatr import GATr, GATrConfig
from eqscale.nn.layers import EquiLayerNorm, ScalarGatedGELU
from eqscale.nn.linear import EquiLinear

__all__ = [
    "EquiLinear", "GeometricBilinear", "EquiLayerNorm", "ScalarGatedGELU", "GeometricAttention",
    "GeometricMLP", "GATrBlock", "GATr", "GATrConfig", "reference_multivector",
    "distance_features",
]
