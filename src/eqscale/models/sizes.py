"""Model configurations, the size schedules (one knob per architecture) and parameter counts.

``SIZES[arch][i]`` is the configuration of size index ``i``. Sizes 0-2 are the CPU sizes of the
``tiny``/``demo`` presets; the largest sizes are GPU-cluster sizes. docs/models.md lists the
schedules with their parameter counts; :func:`parameter_count` is the closed-form count that
tests compare with the built modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from eqscale.errors import EqscaleError

ARCHS = ("transformer", "gatr")


@dataclass(frozen=True)
class TransformerConfig:
    """Baseline transformer: width, depth (blocks), heads, MLP ratio, Fourier features.

    rff_scale / rff_motion_scale: std of the Gaussian frequencies (cycles per metre) for vertex
    positions and for vertex displacements over one frame (which are about 10x smaller).
    raw_position_scale / raw_motion_scale: factors (per metre) of the same coordinates fed raw
    beside the Fourier features, so that they are of order one (scenes span about +-5 m, one
    frame's displacement is at most a few tenths of a metre).
    """

    width: int
    depth: int
    heads: int
    mlp_ratio: int = 4
    rff_features: int = 16
    rff_scale: float = 0.25
    rff_motion_scale: float = 2.0
    raw_position_scale: float = 0.2
    raw_motion_scale: float = 5.0

    @property
    def input_features(self) -> int:
        """Width of a token's concatenated features before the input linear map: 6 vectors
        (3 vertex positions + 3 vertex displacements) x (sin, cos) x rff_features, the same 6
        vectors as 18 raw coordinates, 4 object scalars, 4 floor numbers (n, d), 3 gravity
        components."""
        return 6 * 2 * self.rff_features + 18 + 4 + 4 + 3


@dataclass(frozen=True)
class GATrConfig:
    """GATr task model: multivector channels, scalar channels, depth (blocks), heads."""

    mv_channels: int
    s_channels: int
    depth: int
    heads: int


SIZES: dict[str, tuple] = {
    "transformer": (
        TransformerConfig(width=16, depth=2, heads=2),
        TransformerConfig(width=32, depth=2, heads=2),
        TransformerConfig(width=48, depth=4, heads=4),
        TransformerConfig(width=96, depth=4, heads=4),
        TransformerConfig(width=192, depth=6, heads=6),
        TransformerConfig(width=384, depth=8, heads=6),
        TransformerConfig(width=768, depth=12, heads=12),
        TransformerConfig(width=1024, depth=16, heads=16),
    ),
    "gatr": (
        GATrConfig(mv_channels=4, s_channels=8, depth=2, heads=2),
        GATrConfig(mv_channels=8, s_channels=16, depth=2, heads=2),
        GATrConfig(mv_channels=12, s_channels=24, depth=4, heads=4),
        GATrConfig(mv_channels=24, s_channels=48, depth=4, heads=4),
        GATrConfig(mv_channels=48, s_channels=96, depth=6, heads=6),
        GATrConfig(mv_channels=96, s_channels=192, depth=8, heads=6),
        GATrConfig(mv_channels=192, s_channels=384, depth=12, heads=12),
        GATrConfig(mv_channels=256, s_channels=512, depth=16, heads=16),
    ),
}


def check_arch(arch: str) -> str:
    if arch not in ARCHS:
        raise EqscaleError(f"unknown model {arch!r}; choose one of {', '.join(ARCHS)}")
    return arch


def check_size(arch: str, size: int | str) -> int:
    """Validate a size index (an int, or a string of digits from the command line)."""
    check_arch(arch)
    try:
        index = int(size)
    except (TypeError, ValueError):
        raise EqscaleError(f"model size must be an integer index, got {size!r}") from None
    n = len(SIZES[arch])
    if not 0 <= index < n:
        raise EqscaleError(f"{arch} size {index} is out of range; sizes are 0..{n - 1}")
    return index


def size_config(arch: str, size: int | str) -> TransformerConfig | GATrConfig:
    """The configuration of size index ``size`` of architecture ``arch``."""
    index = check_size(arch, size)
    return SIZES[arch][index]


def transformer_parameters(c: TransformerConfig) -> int:
    """Closed-form parameter count of the baseline (biases and LayerNorm affines included).

    input linear (F_in -> w) + depth x [2 LayerNorms, qkv (w -> 3w), out (w -> w),
    MLP (w -> r w -> w)] + final LayerNorm + head (w -> 9). F_in = c.input_features.
    The Fourier frequency matrices are fixed buffers, not parameters.
    """
    w, hidden = c.width, c.mlp_ratio * c.width
    f_in = c.input_features
    block = 2 * (2 * w) + (w * 3 * w + 3 * w) + (w * w + w) + (w * hidden + hidden)
    block += hidden * w + w
    return (f_in * w + w) + c.depth * block + 2 * w + (9 * w + 9)


def parameter_count(arch: str, size: int | str) -> int:
    """Trainable parameters of ``build_model(arch, size, ...)`` (independent of faces)."""
    config = size_config(arch, size)
    if arch == "transformer":
        return transformer_parameters(config)
    from eqscale.models.gatr_model import gatr_parameters

    return gatr_parameters(config)
