"""The baseline transformer task model (docs/models.md, Baseline transformer).

Token = one face. Its three frame-t vertices and their displacements since t-1 enter twice: as
random Fourier features (fixed Gaussian frequency matrices, sin/cos) and as raw coordinates
(scaled to order one), concatenated with the object's invariant scalars, the floor plane and the
gravity vector, and mapped linearly to the width. Pre-norm blocks alternate object-level and
global attention. The head gives each token a rigid motion of its object: a centroid
displacement and a rotation in the 6-D representation, both averaged over the object's real
tokens (the rotation projected onto SO(3) by Gram-Schmidt), on top of the rigid constant-velocity
prior: the object keeps its last centroid displacement and its last rotation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from eqscale.models.inputs import SceneInputs, read_batch
from eqscale.models.masks import (
    block_levels,
    global_attention_mask,
    object_attention_mask,
    to_object_view,
    to_scene_view,
)
from eqscale.models.rigidity import (
    IDENTITY_6D,
    RigidMotion,
    at_least_float32,
    full_precision,
    identity_for_padding,
    masked_mean,
    motion_about_centroid,
    rotation_from_6d,
)
from eqscale.models.sizes import TransformerSize

HEAD_OUTPUTS = TransformerSize.HEAD_OUTPUTS
GRAVITY_SCALE = 0.1  # gravity enters as g / 10 (order one for Earth-like gravity)


class FourierFeatures(nn.Module):
    """x -> [sin(2 pi x B^T), cos(2 pi x B^T)] / sqrt(2F) with a fixed B ~ N(0, scale^2) (F, 3).

    The 1/sqrt(2F) makes a vector's 2F features carry about unit variance in all, like its raw
    coordinates beside them; unscaled, the Fourier block dominated the token embedding and the
    transformer learned markedly worse with augmentation (docs/models.md)."""

    def __init__(self, features: int, scale: float, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("frequencies", torch.randn(features, 3, generator=gen) * scale)

    def forward(self, x: Tensor) -> Tensor:
        """x: (..., 3) -> (..., 2F)."""
        phase = 2 * math.pi * (x @ self.frequencies.to(x.dtype).T)
        norm = 1.0 / math.sqrt(max(1, 2 * self.frequencies.shape[0]))
        return torch.cat([torch.sin(phase), torch.cos(phase)], dim=-1) * norm


class SelfAttention(nn.Module):
    """Multi-head self-attention with a boolean mask (True: query may attend to key)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x: (N, L, W), mask: (N, L, L) -> (N, L, W)."""
        n, length, width = x.shape
        qkv = self.qkv(x).view(n, length, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None])
        return self.proj(y.transpose(1, 2).reshape(n, length, width))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attn(LN(x)), then x + MLP(LN(x)) with a GELU MLP."""

    def __init__(self, width: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width)
        )

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))


class TransformerTaskModel(nn.Module):
    """Baseline task model: ``forward(batch) -> RigidMotion`` (docs/interfaces.md)."""

    arch = "transformer"

    def __init__(self, config: TransformerSize, faces_per_object: int) -> None:
        super().__init__()
        self.config = config
        self.faces_per_object = faces_per_object
        self.position_features = FourierFeatures(config.rff_features, config.rff_scale, seed=0)
        self.motion_features = FourierFeatures(
            config.rff_features, config.rff_motion_scale, seed=1
        )
        self.embed = nn.Linear(config.input_features, config.width)
        self.blocks = nn.ModuleList(
            TransformerBlock(config.width, config.heads, config.mlp_ratio)
            for _ in range(config.depth)
        )
        self.levels = block_levels(config.depth)
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, HEAD_OUTPUTS)
        # Small head: the untrained model predicts close to constant velocity, no spin.
        nn.init.normal_(self.head.weight, std=0.01)
        nn.init.zeros_(self.head.bias)

    def token_features(self, faces_prev: Tensor, faces_t: Tensor, scalars: Tensor,
                       floor: Tensor, gravity: Tensor) -> Tensor:
        """Concatenated token features (B, K, P, config.input_features); ``floor`` (B, 4) and
        ``gravity`` (B, 3) are the scene's, or (B, K, 4) and (B, K, 3) one per object."""
        b, k, p = faces_t.shape[:3]
        c = self.config
        motion = faces_t - faces_prev
        pos = self.position_features(faces_t).reshape(b, k, p, -1)
        mot = self.motion_features(motion).reshape(b, k, p, -1)
        raw = torch.cat([c.raw_position_scale * faces_t.reshape(b, k, p, 9),
                         c.raw_motion_scale * motion.reshape(b, k, p, 9)], dim=-1)
        glob = torch.cat([floor, GRAVITY_SCALE * gravity], dim=-1)
        glob = (glob[:, None, None, :] if glob.dim() == 2 else glob[:, :, None, :])
        glob = glob.expand(b, k, p, 7)
        return torch.cat([pos, mot, raw, scalars[:, :, None, :].expand(b, k, p, 4), glob],
                         dim=-1)

    def input_frame(self, inp: SceneInputs) -> tuple[Tensor, Tensor] | None:
        """Each object's frame (rotation (B, K, 3, 3), whose columns are its axes, and origin
        (B, K, 3)) to express its inputs and read its outputs in; None: the world frame.
        The baseline sees the world as it is; a subclass may choose, e.g., principal axes."""
        return None

    def forward(self, batch: dict[str, Tensor]) -> RigidMotion:
        dtype = self.embed.weight.dtype
        inp = read_batch(batch, self.faces_per_object, dtype)
        b, k, p = inp.face_mask.shape
        frame = self.input_frame(inp)
        if frame is None:
            feats = self.token_features(inp.faces_prev, inp.faces_t, inp.scalars, inp.floor,
                                        inp.gravity)
        else:
            feats = self.token_features(*_in_frame(inp, *frame))
        feats = torch.where(inp.face_mask[..., None], feats, 0.0)
        x = self.embed(feats.reshape(b, k * p, -1))
        masks = {"object": object_attention_mask(inp.face_mask),
                 "global": global_attention_mask(inp.face_mask)}
        for block, level in zip(self.blocks, self.levels):
            if level == "object":
                x = to_scene_view(block(to_object_view(x, k), masks["object"]), k)
            else:
                x = block(x, masks["global"])
        out = self.head(self.norm(x)).reshape(b, k, p, HEAD_OUTPUTS)
        with full_precision(out.device):
            mean = masked_mean(at_least_float32(out), inp.face_mask).to(inp.centroid)
            identity = torch.tensor(IDENTITY_6D, dtype=mean.dtype, device=mean.device)
            correction, shift = rotation_from_6d(identity + mean[..., 3:]), mean[..., :3]
            if frame is not None:  # read in the object's frame: back to the world
                axes = frame[0].to(mean.dtype)
                correction = axes @ correction @ axes.transpose(-1, -2)
                shift = (axes @ shift[..., None])[..., 0]
            rotation = correction @ inp.last_rotation
            displacement = inp.displacement + shift
            motion = motion_about_centroid(rotation, inp.centroid, displacement)
            return identity_for_padding(motion, inp.object_mask)


def _in_frame(inp: SceneInputs, axes: Tensor, origin: Tensor) -> tuple[Tensor, ...]:
    """The transformer's inputs expressed in per-object frames: coordinates ``axes^T (x - o)``,
    directions ``axes^T v``, each object's floor plane ``n' = axes^T n, d' = d - n . o``."""
    def point(x: Tensor) -> Tensor:  # (B, K, P, 3, 3)
        return torch.einsum("bkji,bkpvj->bkpvi", axes, x - origin[:, :, None, None, :])

    normal, offset = inp.floor[:, None, :3], inp.floor[:, None, 3]
    floor_normal = torch.einsum("bkji,bkj->bki", axes, normal.expand_as(origin))
    floor_offset = offset - (normal * origin).sum(-1)
    gravity = torch.einsum("bkji,bkj->bki", axes, inp.gravity[:, None].expand_as(origin))
    return (point(inp.faces_prev), point(inp.faces_t), inp.scalars,
            torch.cat([floor_normal, floor_offset[..., None]], dim=-1), gravity)
