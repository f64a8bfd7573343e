"""The GATr task model: E(3)-equivariant from the scene to the predicted motions.

Token = one face, with 8 multivector channels and 4 scalar channels:

    0-2  the face's three vertices at frame t, as points (trivectors);
    3-5  their displacements since t-1, as ideal points (differences of points: e123 = 0);
    6    the floor plane n.x = d (a vector);
    7    gravity / 10 as an ideal point (a direction, blind to translations);
    s    log mass, friction, restitution, scale (invariants).

Reflections flip the sign of the homogeneous coordinate of points under the Pin(3,0,1) action,
but a reflected scene read from data still embeds its points with e123 = +1. So the points are
embedded with the sign of the scene's handedness ``h = sign(sum of the signed volumes of the
token meshes)``, which flips exactly under reflections (face winding is data). With it the
embedding of a transformed scene is the Pin action on the embedding for proper and improper
elements alike, so the whole pipeline is E(3)-equivariant (docs/models.md; tested).

Hierarchical pre-norm GATr blocks (object-level blocks on the object view), then an equivariant
linear head gives each token one output multivector. Its output has the transformer's form: a
rotation about the object's frame-t centroid c and a displacement of c on top of the
constant-velocity prior d. Per object the token outputs are averaged over real tokens; the
rotor part (grade 0 and the e0-free bivectors e12, e13, e23, plus 1) normalised onto the unit
rotors is the rotation R, and the plane-normal part (e1, e2, e3) is the centroid correction
``t``; the motion is ``x -> R (x - c) + c + d + t``. Both parts are invariant under
translations and transform as a rotation and a vector under O(3), so the motion is exactly
E(3)-equivariant, and a head output of zero means "constant velocity, no spin", whatever the
object's position (a motor acting about the world origin would make the network learn each
object's rotation centre from its absolute position).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from eqscale.ga import embed_plane, embed_point
from eqscale.ga.basis import BLADE_NAMES, blade_slice
from eqscale.models.inputs import SceneInputs, read_batch
from eqscale.models.masks import block_levels, global_attention_mask, object_attention_mask
from eqscale.models.motors import motor_to_motion, normalize_motor
from eqscale.models.rigidity import (
    RigidMotion,
    at_least_float32,
    full_precision,
    identity_for_padding,
    masked_mean,
    motion_about_centroid,
)
from eqscale.models.sizes import GATrSize
from eqscale.nn import EquiLinear, GATr, reference_multivector
from eqscale.nn import GATrConfig as NetworkConfig

IN_MV, IN_S = GATrSize.IN_MV, GATrSize.IN_S
# The rotor part of the head's output: 1, e12, e13, e23 (a CPU tensor even when this module is
# first imported under another default device, e.g. meta).
_ROTOR = torch.tensor([float(name in ("1", "e12", "e13", "e23")) for name in BLADE_NAMES],
                      device="cpu")
_SHIFT = blade_slice("e1", "e3")  # the plane-normal components
GRAVITY_SCALE = 0.1
HEAD_INIT_SCALE = 0.01


def scene_handedness(faces_t: Tensor, face_mask: Tensor, centroid: Tensor) -> Tensor:
    """+1 or -1 per scene: the sign of the summed signed volumes of the token meshes.

    faces_t: (B, K, P, 3, 3), face_mask: (B, K, P), centroid: (B, K, 3) -> (B,). Each face adds
    det(v0 - c, v1 - c, v2 - c) / 6; proper motions keep it, reflections negate it.
    """
    rel = faces_t - centroid[:, :, None, None, :]
    v0, v1, v2 = rel.unbind(dim=-2)
    vol = (torch.linalg.cross(v0, v1, dim=-1) * v2).sum(-1) / 6.0  # det(v0, v1, v2) / 6
    total = torch.where(face_mask, vol, torch.zeros_like(vol)).sum(dim=(1, 2))
    return torch.where(total >= 0, 1.0, -1.0).to(faces_t.dtype)


def embed_scene(inp: SceneInputs) -> tuple[Tensor, Tensor]:
    """Token multivectors (B, K, P, 8, 16) and scalars (B, K, P, 4); zero on padded tokens."""
    b, k, p = inp.face_mask.shape
    hand = scene_handedness(inp.faces_t, inp.face_mask, inp.centroid)
    h = hand[:, None, None, None, None]
    points_t = embed_point(inp.faces_t)
    motion = points_t - embed_point(inp.faces_prev)
    floor = embed_plane(inp.floor[:, :3], inp.floor[:, 3])
    direction = GRAVITY_SCALE * inp.gravity
    gravity = (embed_point(direction) - embed_point(torch.zeros_like(direction))) * hand[:, None]
    glob = torch.stack([floor, gravity], dim=1)[:, None, None].expand(b, k, p, 2, 16)
    mv = torch.cat([points_t * h, motion * h, glob], dim=-2)
    mv = torch.where(inp.face_mask[..., None, None], mv, 0.0)
    s = inp.scalars[:, :, None, :].expand(b, k, p, IN_S)
    s = torch.where(inp.face_mask[..., None], s, 0.0)
    return mv, s


def rotation_and_shift(out: Tensor) -> tuple[Tensor, Tensor]:
    """Per-object head outputs ``out (B, K, 16)`` -> rotation (B, K, 3, 3), shift (B, K, 3).

    Rotation: the rotor ``1 + <out>_{0, e12, e13, e23}`` normalised onto the unit rotors and
    read as a rotation matrix. Shift: the plane-normal components ``(e1, e2, e3)`` of ``out``.
    Both ignore every e0 component, which is what translations change, and transform as a
    rotation and as a vector under O(3) (a reflection F maps them to F R F^T and F t).
    """
    rotor = out * _ROTOR.to(device=out.device, dtype=out.dtype)
    rotor = torch.cat([rotor[..., :1] + 1.0, rotor[..., 1:]], dim=-1)
    rotation = motor_to_motion(normalize_motor(rotor)).rotation
    return rotation, out[..., _SHIFT]


class GATrTaskModel(nn.Module):
    """GATr task model: ``forward(batch) -> RigidMotion`` (docs/interfaces.md)."""

    arch = "gatr"

    def __init__(self, config: GATrSize, faces_per_object: int) -> None:
        super().__init__()
        self.config = c = config
        self.faces_per_object = faces_per_object
        self.net = GATr(NetworkConfig(
            in_mv_channels=IN_MV, out_mv_channels=1, in_s_channels=IN_S, out_s_channels=0,
            hidden_mv_channels=c.mv_channels, hidden_s_channels=c.s_channels,
            num_blocks=c.depth, num_heads=c.heads))
        self.levels = block_levels(c.depth)
        # Small head: the untrained model predicts close to rigid constant velocity.
        with torch.no_grad():
            self.net.head.weight.mul_(HEAD_INIT_SCALE)
            self.net.head.s_to_mv.weight.mul_(HEAD_INIT_SCALE)

    @property
    def head(self) -> EquiLinear:
        """The network's output layer (one multivector per token)."""
        return self.net.head

    def token_outputs(self, mv: Tensor, s: Tensor, face_mask: Tensor) -> Tensor:
        """Network on embedded tokens: mv (B, K, P, 8, 16), s (B, K, P, 4) -> (B, K, P, 16),
        each token's head output (a multivector; see :func:`rotation_and_shift`).

        Object-level blocks get the ``(B K, P, P)`` mask (each object its own sequence), global
        blocks the ``(B, K P, K P)`` one; the join reference is the scene's mean input over its
        real tokens, for every block."""
        b, k, p = face_mask.shape
        mv, s = mv.reshape(b, k * p, IN_MV, 16), s.reshape(b, k * p, IN_S)
        real = face_mask.reshape(b, k * p)
        reference = reference_multivector(mv, real[:, :, None] & real[:, None, :])
        masks = {"object": object_attention_mask(face_mask),
                 "global": global_attention_mask(face_mask)}
        out, _ = self.net(mv, s, [masks[level] for level in self.levels], reference)
        return out[..., 0, :].reshape(b, k, p, 16)

    def forward(self, batch: dict[str, Tensor]) -> RigidMotion:
        inp = read_batch(batch, self.faces_per_object, self.net.embed.weight.dtype)
        mv, s = embed_scene(inp)
        token_out = self.token_outputs(mv, s, inp.face_mask)
        with full_precision(token_out.device):
            mean = masked_mean(at_least_float32(token_out), inp.face_mask).to(inp.centroid)
            rotation, correction = rotation_and_shift(mean)
            motion = motion_about_centroid(rotation @ inp.last_rotation, inp.centroid,
                                           inp.displacement + correction)
            return identity_for_padding(motion, inp.object_mask)
