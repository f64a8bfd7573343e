"""Size configurations of both architectures, with their parameter and FLOP formulas (no torch).

``TRANSFORMER_SIZES[i]`` and ``GATR_SIZES[i]`` are the configurations of size index ``i`` (one
knob per architecture; :mod:`eqscale.models.registry` serves them by name). Sizes 0-2 are the
CPU sizes of the ``tiny``/``demo`` presets; the largest are GPU-cluster sizes. Each size
class knows its closed-form parameter count (tests compare it with the built modules) and its
training FLOPs per sample in both conventions of docs/models.md, "Compute accounting":

* ``nominal`` -- GATr's published convention: 6 FLOPs per weight-matrix entry per token
  (2 for the forward multiply-add, 4 for the two backward products), a multivector-to-
  multivector weight counted as a dense 16 x 16 block per channel pair, plus attention at 3x
  its forward cost over the (query, key) pairs a block attends. Fixed (non-trained) matrices
  such as the Fourier frequencies are not counted.
* ``executed`` -- what this implementation runs: every matrix multiplication of the forward and
  backward pass, as ``torch.utils.flop_counter.FlopCounterMode`` counts them (2 FLOPs per
  multiply-add, including the batched matmuls inside eqscale.ga's sparse products; elementwise
  work left out, as the counter does). Backward: 2x forward for a layer whose input needs a
  gradient, 1x (weight gradient only) for the first layer, 0 for fixed maps, 2.5x for
  attention (the flash kernels recompute the scores: 5 batched products instead of 2).
  ``tests/models/test_flops.py`` checks it against the counter.

Notation: n objects (slots the model runs on; fractional when it is a dataset mean), P faces per
object (tokens per object), T = n P tokens, L blocks, object-level blocks 0, 2, ... and global
blocks 1, 3, .... Planning a sweep uses these formulas without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from eqscale.ga.basis import terms


@dataclass(frozen=True)
class FlopCount:
    """FLOPs of one training sample (forward + backward) in both conventions."""

    nominal: float
    executed: float


def attention_pairs(objects: float, faces: int, depth: int) -> tuple[float, float]:
    """(object-level pairs, global pairs) summed over the blocks of a model of ``depth``:
    object-level blocks attend P^2 pairs per object (n P^2 per sample), global ones T^2."""
    tokens = objects * faces
    return (depth + 1) // 2 * objects * faces**2, depth // 2 * tokens**2


@dataclass(frozen=True)
class TransformerSize:
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

    HEAD_OUTPUTS = 9  # 3 centroid correction + 6 rotation (6-D representation)

    @property
    def input_features(self) -> int:
        """Width of a token's concatenated features before the input linear map: 6 vectors
        (3 vertex positions + 3 vertex displacements) x (sin, cos) x rff_features, the same 6
        vectors as 18 raw coordinates, 4 object scalars, 4 floor numbers (n, d), 3 gravity
        components."""
        return 6 * 2 * self.rff_features + 18 + 4 + 4 + 3

    def parameters(self) -> int:
        """Input linear (F_in -> w) + depth x [2 LayerNorms, qkv (w -> 3w), out (w -> w), MLP
        (w -> r w -> w)] + final LayerNorm + head (w -> 9), biases and norm affines included.
        The Fourier frequency matrices are fixed buffers, not parameters."""
        w, hidden = self.width, self.mlp_ratio * self.width
        block = 2 * (2 * w) + (w * 3 * w + 3 * w) + (w * w + w) + (w * hidden + hidden)
        block += hidden * w + w
        head = self.HEAD_OUTPUTS
        return (self.input_features * w + w) + self.depth * block + 2 * w + (head * w + head)

    def flops(self, objects: float, faces: int) -> FlopCount:
        """Training FLOPs of one sample (see the module docstring)."""
        w, m, nf = self.width, self.mlp_ratio * self.width, self.rff_features
        tokens = objects * faces
        f_in = self.input_features
        # Weight-matrix entries applied to every token: input map, per block qkv (3w^2), output
        # projection (w^2) and MLP (2 w m), and the head.
        block_weights = 3 * w * w + w * w + 2 * w * m
        weights = f_in * w + self.depth * block_weights + self.HEAD_OUTPUTS * w
        # Attention forward per attended pair: q.k (2 d per head, summed over heads: 2w) and
        # softmax(.) v (another 2w) -> 4w.
        obj_pairs, glob_pairs = attention_pairs(objects, faces, self.depth)
        attn_fwd = 4 * w * (obj_pairs + glob_pairs)
        nominal = 6 * weights * tokens + 3 * attn_fwd
        # Executed forward: the Fourier projections (6 vectors x (3 -> nf) per token), then every
        # weight matrix once (2 per entry). Backward: the input map needs only its weight
        # gradient (its input needs none), the Fourier map nothing, the other weights input and
        # weight gradients, attention 2.5x.
        fwd = 6 * 2 * 3 * nf * tokens + 2 * weights * tokens + attn_fwd
        bwd = 2 * f_in * w * tokens + 4 * (weights - f_in * w) * tokens + 2.5 * attn_fwd
        return FlopCount(nominal=float(nominal), executed=float(fwd + bwd))


@dataclass(frozen=True)
class GATrSize:
    """GATr task model: multivector channels, scalar channels, depth (blocks), heads.

    The layer shapes follow eqscale.nn's defaults: attention heads of ``c // H`` multivector and
    ``s // H`` scalar channels (at least 1); MLP hidden ``2c`` multivectors and ``2s`` scalars; the
    bilinear layer's ``c`` geometric products and ``c`` joins of ``4c`` projected channels.
    """

    mv_channels: int
    s_channels: int
    depth: int
    heads: int

    # Token inputs of the task model (eqscale.models.gatr_model): 3 points, 3 displacements,
    # the floor plane and gravity as multivectors; log mass, friction, restitution, scale.
    IN_MV = 8
    IN_S = 4

    @property
    def head_channels(self) -> tuple[int, int]:
        """Multivector and scalar channels per attention head."""
        return max(1, self.mv_channels // self.heads), max(1, self.s_channels // self.heads)

    def equilinear_shapes(self) -> list[tuple[int, int, int, int, bool]]:
        """Every EquiLinear of the model as (in_mv, out_mv, in_s, out_s, input_needs_grad)."""
        mv, sc, heads = self.mv_channels, self.s_channels, self.heads
        hmv, hs = (heads * c for c in self.head_channels)
        block = [
            (mv, 3 * hmv, sc, 3 * hs, True),  # attention q, k, v
            (hmv, mv, hs, sc, True),  # attention output
            (mv, 4 * mv, sc, 0, True),  # bilinear operands (2 products x 2 sides x c channels)
            (2 * mv, 2 * mv, sc, 2 * sc, True),  # bilinear output (mixes scalars in)
            (2 * mv, mv, 2 * sc, sc, True),  # MLP output
        ]
        embed = (self.IN_MV, mv, self.IN_S, sc, False)
        return [embed] + block * self.depth + [(mv, 1, sc, 0, True)]

    def parameters(self) -> int:
        """The EquiLinear maps (9 basis weights per channel pair, a grade-0 bias per output
        channel, scalars -> grade 0, and the scalar outputs' map from grade-0 parts and scalars
        with bias) plus one attention distance weight per head and multivector channel of a
        head in every block (layer norms have none)."""
        count = 0
        for in_mv, out_mv, in_s, out_s, _ in self.equilinear_shapes():
            count += 9 * in_mv * out_mv + out_mv + in_s * out_mv
            if out_s:
                count += (in_mv + in_s) * out_s + out_s
        return count + self.depth * self.heads * self.head_channels[0]

    def flops(self, objects: float, faces: int) -> FlopCount:
        """Training FLOPs of one sample (see the module docstring)."""
        tokens = objects * faces
        nominal_weights, fwd_linear, bwd_linear = 0, 0, 0
        for in_mv, out_mv, in_s, out_s, needs_grad in self.equilinear_shapes():
            # Nominal: multivector weights as dense 16 x 16 blocks, scalars -> grade 0, and the
            # scalar outputs' map.
            nominal_weights += 256 * in_mv * out_mv + in_s * out_mv + (in_mv + in_s) * out_s
            # Executed (eqscale.nn fast path): 16 grade-wise (C_in x C_out) products and 8 for
            # the e0 maps = 24 matmuls -> 48 in out FLOPs; scalar maps as plain linear layers.
            fwd = 48 * in_mv * out_mv + 2 * in_s * out_mv + 2 * (in_mv + in_s) * out_s
            fwd_linear += fwd
            # Backward: weight gradient always, input gradient when the input needs one.
            bwd_linear += 2 * fwd if needs_grad else fwd
        heads = self.heads
        head_mv, head_s = self.head_channels
        # Executed attention per (query, key) pair, summed over heads. The logits use 7 e0-free
        # components (e123 left out) + 5 distance features per multivector channel + the
        # scalars, the values 16 components per multivector channel + the scalars; eqscale.nn
        # zero-pads queries, keys and values to one width (the wider, the values') so that torch
        # runs its fused kernel: 2 products of that width, 2 FLOPs per multiply-add, and 2.5x
        # that backward (the fused kernel recomputes the scores: 5 products).
        width = max(12 * head_mv + head_s, 16 * head_mv + head_s)
        obj_pairs, glob_pairs = attention_pairs(objects, faces, self.depth)
        pairs = obj_pairs + glob_pairs
        attn_fwd = 2 * heads * 2 * width * pairs
        # Nominal attention: dense 16 components per multivector channel for logits and values.
        attn_nominal = 3 * 2 * heads * 2 * (16 * head_mv + head_s) * pairs
        nominal = 6 * nominal_weights * tokens + attn_nominal
        # Products: eqscale.ga's sparse path sums each output's signed terms with a batched
        # matmul, 2 FLOPs per non-zero Cayley-table term (the geometric product's and the
        # join's term counts, from eqscale.ga.basis). Per token and block: c geometric products
        # and c joins; backward evaluates one sparse map per operand, both need gradients -> 2x.
        gp, join = len(terms("geometric")), len(terms("regressive"))
        products = 3 * 2 * (gp + join) * self.mv_channels * self.depth * tokens
        # Per object, the rotor head runs 11 geometric products forward (normalisation 2,
        # sandwiches of 4 points 8 + 1 inverse) and 18 sparse maps backward (operands without
        # gradient: the embedded points). Products are charged at the sparse path's count even
        # where small operands (at most eqscale.ga's TABLE_PATH_MAX multivectors, e.g. these
        # per-object ones) take the table path, which also multiplies the table's zeros: more
        # FLOPs in fewer operations, less time; the count stays the work the products need.
        products += (11 + 18) * 2 * gp * objects
        executed = (fwd_linear + bwd_linear) * tokens + 3.5 * attn_fwd + products
        return FlopCount(nominal=float(nominal), executed=float(executed))


# The size schedules (index 0 = smallest); :mod:`eqscale.models.registry` registers them.
TRANSFORMER_SIZES = (
    TransformerSize(width=16, depth=2, heads=2),
    TransformerSize(width=32, depth=2, heads=2),
    TransformerSize(width=48, depth=4, heads=4),
    TransformerSize(width=96, depth=4, heads=4),
    TransformerSize(width=192, depth=6, heads=6),
    TransformerSize(width=384, depth=8, heads=6),
    TransformerSize(width=768, depth=12, heads=12),
    TransformerSize(width=1024, depth=16, heads=16),
)

GATR_SIZES = (
    GATrSize(mv_channels=4, s_channels=8, depth=2, heads=2),
    GATrSize(mv_channels=8, s_channels=16, depth=2, heads=2),
    GATrSize(mv_channels=12, s_channels=24, depth=4, heads=4),
    GATrSize(mv_channels=24, s_channels=48, depth=4, heads=4),
    GATrSize(mv_channels=48, s_channels=96, depth=6, heads=6),
    GATrSize(mv_channels=96, s_channels=192, depth=8, heads=6),
    GATrSize(mv_channels=192, s_channels=384, depth=12, heads=12),
    GATrSize(mv_channels=256, s_channels=512, depth=16, heads=16),
)
