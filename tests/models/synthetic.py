"""Synthetic batches in the exact format of docs/interfaces.md (data -> models).

Random scenes of rigid objects with padding, built without the data layer so that the model tests
stand on their own. Each real object is a random point cloud with random triangle faces, moved
rigidly from t-1 to t to t+1; padded slots, vertices and faces hold large garbage so that any
leak of padding into real outputs shows.
"""

from __future__ import annotations

import torch
from torch import Tensor


def random_rotation(n: int, generator: torch.Generator, dtype=torch.float64) -> Tensor:
    """n uniformly random proper rotations (n, 3, 3) (QR of a Gaussian matrix, signs fixed)."""
    a = torch.randn(n, 3, 3, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]
    q[:, :, 0] *= torch.sign(torch.linalg.det(q))[:, None]
    return q.to(dtype)


def random_small_rotation(n: int, generator: torch.Generator, max_angle: float) -> Tensor:
    """n rotations by angles up to ``max_angle`` about random axes (Rodrigues), float64."""
    axis = torch.randn(n, 3, generator=generator, dtype=torch.float64)
    axis = axis / axis.norm(dim=-1, keepdim=True)
    angle = (torch.rand(n, generator=generator, dtype=torch.float64) * max_angle)[:, None, None]
    kx = torch.zeros(n, 3, 3, dtype=torch.float64)
    kx[:, 0, 1], kx[:, 0, 2], kx[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    kx = kx - kx.transpose(1, 2)
    eye = torch.eye(3, dtype=torch.float64)
    return eye + torch.sin(angle) * kx + (1 - torch.cos(angle)) * (kx @ kx)


def random_scene_batch(
    batch_size: int = 3,
    objects: int = 5,
    faces: int = 6,
    verts: int = 7,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    min_objects: int = 2,
    shuffle_slots: bool = True,
) -> dict[str, Tensor]:
    """A random batch (docs/interfaces.md keys) plus ``true_rotation``/``true_translation``.

    Each scene has between ``min_objects`` and ``objects`` real objects (in random slots when
    ``shuffle_slots``), each with 4..verts real vertices and 2..faces real faces.
    """
    g = torch.Generator().manual_seed(seed)
    b, k, p, v = batch_size, objects, faces, verts
    f64 = torch.float64
    n_real = torch.randint(min_objects, k + 1, (b,), generator=g)
    object_mask = torch.zeros(b, k, dtype=torch.bool)
    for i in range(b):
        slots = torch.randperm(k, generator=g) if shuffle_slots else torch.arange(k)
        object_mask[i, slots[: n_real[i]]] = True
    n_verts = torch.randint(4, v + 1, (b, k), generator=g)
    n_faces = torch.randint(2, p + 1, (b, k), generator=g)
    vert_mask = torch.arange(v)[None, None, :] < n_verts[..., None]
    face_mask = torch.arange(p)[None, None, :] < n_faces[..., None]
    vert_mask &= object_mask[..., None]
    face_mask &= object_mask[..., None]

    face_index = torch.zeros(b, k, p, 3, dtype=torch.long)
    for i in range(b):
        for j in range(k):
            for f in range(int(n_faces[i, j])):
                face_index[i, j, f] = torch.randperm(int(n_verts[i, j]), generator=g)[:3]

    scale = 0.7 + 0.7 * torch.rand(b, k, generator=g, dtype=f64)
    local = torch.randn(b, k, v, 3, generator=g, dtype=f64) * 0.5 * scale[..., None, None]
    pose_r = random_rotation(b * k, g).reshape(b, k, 3, 3)
    lo, hi = torch.tensor([-5.0, -5.0, 1.0], dtype=f64), torch.tensor([5.0, 5.0, 5.0], dtype=f64)
    pose_t = lo + (hi - lo) * torch.rand(b, k, 3, generator=g, dtype=f64)
    rotations, centres = [pose_r], [pose_t]
    for _ in range(2):
        step = random_small_rotation(b * k, g, 0.3).reshape(b, k, 3, 3)
        rotations.append(step @ rotations[-1])
        centres.append(centres[-1] + torch.randn(b, k, 3, generator=g, dtype=f64) * 0.3)
    frames = [torch.einsum("bkij,bkvj->bkvi", r, local) + c[:, :, None, :]
              for r, c in zip(rotations, centres)]
    # The true motion t -> t+1: x -> R x + t with R = R_2 R_1^T, t = c_2 - R c_1.
    true_r = rotations[2] @ rotations[1].transpose(-1, -2)
    true_t = centres[2] - torch.einsum("bkij,bkj->bki", true_r, centres[1])

    garbage = 1e3 * torch.randn(3, b, k, v, 3, generator=g, dtype=f64)
    vm = vert_mask[..., None]
    verts_prev, verts_t, verts_next = (
        torch.where(vm, x, junk) for x, junk in zip(frames, garbage)
    )
    gather = face_index.reshape(b, k, p * 3)[..., None].expand(b, k, p * 3, 3)
    faces_prev = torch.gather(verts_prev, 2, gather).reshape(b, k, p, 3, 3)
    faces_t = torch.gather(verts_t, 2, gather).reshape(b, k, p, 3, 3)

    mass = 2.7 * scale**3 * (0.5 + torch.rand(b, k, generator=g, dtype=f64))
    friction = 0.3 + 0.5 * torch.rand(b, k, generator=g, dtype=f64)
    restitution = 0.3 + 0.4 * torch.rand(b, k, generator=g, dtype=f64)
    object_scalars = torch.stack([mass, friction, restitution, scale], dim=-1)
    object_scalars = torch.where(object_mask[..., None], object_scalars, float("nan"))

    out = {
        "verts_prev": verts_prev,
        "verts_t": verts_t,
        "verts_next": verts_next,
        "vert_mask": vert_mask,
        "face_index": face_index,
        "faces_prev": faces_prev,
        "faces_t": faces_t,
        "face_mask": face_mask,
        "object_mask": object_mask,
        "object_scalars": object_scalars,
        "floor": torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=f64).expand(b, 4).clone(),
        "gravity": torch.tensor([0.0, 0.0, -10.0], dtype=f64).expand(b, 3).clone(),
        "true_rotation": true_r,
        "true_translation": true_t,
    }
    return {key: (x.to(dtype) if x.is_floating_point() else x) for key, x in out.items()}


POSITION_KEYS = ("verts_prev", "verts_t", "verts_next", "faces_prev", "faces_t")


def random_e3(batch_size: int, seed: int, reflect: bool = False, dtype=torch.float64):
    """Random E(3) elements x -> Q x + b: Q (B, 3, 3) proper (or improper if ``reflect``)."""
    g = torch.Generator().manual_seed(seed)
    q = random_rotation(batch_size, g)
    if reflect:
        q = q @ torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    b = 5.0 * torch.randn(batch_size, 3, generator=g, dtype=torch.float64)
    return q.to(dtype), b.to(dtype)


def transform_batch(batch: dict[str, Tensor], q: Tensor, b: Tensor) -> dict[str, Tensor]:
    """Apply x -> Q x + b per sample to every position, the floor plane and gravity.

    q: (B, 3, 3) orthogonal, b: (B, 3). The plane n.x = d becomes (Q n).x = d + (Q n).b.
    """
    out = dict(batch)
    for key in POSITION_KEYS:
        x = batch[key]
        flat = x.reshape(x.shape[0], -1, 3)
        moved = torch.einsum("bij,bnj->bni", q, flat) + b[:, None, :]
        out[key] = moved.reshape(x.shape)
    normal = torch.einsum("bij,bj->bi", q, batch["floor"][:, :3])
    offset = batch["floor"][:, 3] + (normal * b).sum(-1)
    out["floor"] = torch.cat([normal, offset[:, None]], dim=-1)
    out["gravity"] = torch.einsum("bij,bj->bi", q, batch["gravity"])
    return out


def transform_points(points: Tensor, q: Tensor, b: Tensor) -> Tensor:
    """x -> Q x + b for points (B, ...,3)."""
    flat = points.reshape(points.shape[0], -1, 3)
    return (torch.einsum("bij,bnj->bni", q, flat) + b[:, None, :]).reshape(points.shape)
