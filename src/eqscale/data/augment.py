"""E(3) augmentation: one rigid motion or reflection per sample, applied alike to every
position, the floor plane and gravity, so a transformed batch is another valid batch."""

from __future__ import annotations

import torch

POINT_KEYS = ("verts_prev", "verts_t", "verts_next", "faces_prev", "faces_t", "verts")


def random_rotations(n: int, generator: torch.Generator | None = None,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(n, 3, 3) uniform on SO(3): normalised 4D Gaussians are uniform unit quaternions."""
    q = torch.randn(n, 4, generator=generator, dtype=torch.float64)
    w, x, y, z = (q / q.norm(dim=-1, keepdim=True)).unbind(-1)
    rows = [
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ]
    return torch.stack(rows, -2).to(dtype)


def random_e3_elements(n: int, generator: torch.Generator | None = None,
                       translation_std: float = 1.0, reflection_prob: float = 0.5,
                       dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """(rotation (n, 3, 3) orthogonal, translation (n, 3)): uniform on O(3) (a reflection with
    probability 1/2) and Gaussian translations with standard deviation ``translation_std``."""
    rotation = random_rotations(n, generator, torch.float64)
    flip = torch.rand(n, generator=generator, dtype=torch.float64) < reflection_prob
    rotation[flip, :, 0] *= -1  # R diag(-1, 1, 1): uniform over the reflection coset
    translation = translation_std * torch.randn(n, 3, generator=generator, dtype=torch.float64)
    return rotation.to(dtype), translation.to(dtype)


def _transform_points(x: torch.Tensor, rotation: torch.Tensor,
                      translation: torch.Tensor) -> torch.Tensor:
    """x (B, ..., 3) -> R x + t per sample."""
    B = x.shape[0]
    flat = x.reshape(B, -1, 3)
    moved = flat @ rotation.transpose(1, 2) + translation[:, None, :]
    return moved.reshape(x.shape)


def apply_e3(batch: dict[str, torch.Tensor], rotation: torch.Tensor,
             translation: torch.Tensor) -> dict[str, torch.Tensor]:
    """A new batch moved by x -> R x + t (R (B, 3, 3) orthogonal, t (B, 3)): all point keys;
    floor (n, d) -> (R n, d + (R n).t); gravity g -> R g. Other keys are shared, not copied."""
    out = dict(batch)
    ref = batch["floor"]
    rotation = rotation.to(ref.device, ref.dtype)
    translation = translation.to(ref.device, ref.dtype)
    for key in POINT_KEYS:
        if key in batch:
            out[key] = _transform_points(batch[key], rotation, translation)
    normal = torch.einsum("bij,bj->bi", rotation, batch["floor"][:, :3])
    offset = batch["floor"][:, 3] + (normal * translation).sum(-1)
    out["floor"] = torch.cat([normal, offset[:, None]], dim=-1)
    out["gravity"] = torch.einsum("bij,bj->bi", rotation, batch["gravity"])
    return out


def random_e3(batch: dict[str, torch.Tensor], generator: torch.Generator | None = None,
              translation_std: float = 1.0) -> dict[str, torch.Tensor]:
    """Apply one random E(3) element per sample (uniform rotation, reflection with probability
    1/2, Gaussian translation) to the whole batch, inputs and targets alike."""
    rotation, translation = random_e3_elements(batch["floor"].shape[0], generator,
                                               translation_std, dtype=torch.float64)
    return apply_e3(batch, rotation, translation)
