"""Token meshes and posed vertices: one token per face of each object's token mesh.

Each shape's token mesh (at most ``faces_per_object`` faces, stored in the manifest) is padded to
``V`` vertices and ``P = faces_per_object`` faces. An object at scale ``s`` with centre-of-mass
pose ``(R, x)`` has world vertices ``x + R (s v)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from eqscale.data.simulate import quaternion_to_matrix


@dataclass(frozen=True)
class TokenMeshes:
    """All shapes' token meshes, padded: S shapes, V vertices, P faces."""

    vertices: np.ndarray  # (S, V, 3) float64, unit-shape frame
    vert_mask: np.ndarray  # (S, V) bool
    faces: np.ndarray  # (S, P, 3) int64, padding faces point at vertex 0
    face_mask: np.ndarray  # (S, P) bool

    @classmethod
    def from_manifest(cls, manifest: dict) -> TokenMeshes:
        shapes = manifest["shapes"]
        P = int(manifest["config"]["faces_per_object"])
        V = max(len(s["token_vertices"]) for s in shapes)
        S = len(shapes)
        vertices, vert_mask = np.zeros((S, V, 3)), np.zeros((S, V), bool)
        faces, face_mask = np.zeros((S, P, 3), np.int64), np.zeros((S, P), bool)
        for i, s in enumerate(shapes):
            v, f = np.asarray(s["token_vertices"]), np.asarray(s["token_faces"], np.int64)
            vertices[i, : len(v)], vert_mask[i, : len(v)] = v, True
            faces[i, : len(f)], face_mask[i, : len(f)] = f, True
        return cls(vertices, vert_mask, faces, face_mask)

    @property
    def max_vertices(self) -> int:
        return self.vertices.shape[1]

    @property
    def faces_per_object(self) -> int:
        return self.faces.shape[1]


def posed_vertices(local: np.ndarray, positions: np.ndarray, quaternions: np.ndarray) -> np.ndarray:
    """World vertices ``x + R v``: local (K, V, 3), positions (..., K, 3), quaternions (..., K, 4)
    (w x y z) -> (..., K, V, 3) float64."""
    rotation = quaternion_to_matrix(quaternions)  # (..., K, 3, 3)
    return np.einsum("...kij,kvj->...kvi", rotation, local) + positions[..., None, :]


def object_statics(meshes: TokenMeshes, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The per-trajectory, frame-independent keys of a sample (numpy, no batch axis) and the
    scaled local vertices (``local``, (K, V, 3)) used to pose them."""
    mask = arrays["mask"].astype(bool)
    shape_id = np.where(mask, arrays["shape_id"], 0)
    scale = np.where(mask, arrays["scale"], 0.0).astype(np.float64)
    return {
        "local": meshes.vertices[shape_id] * scale[:, None, None],
        "vert_mask": meshes.vert_mask[shape_id] & mask[:, None],
        "face_index": np.where(mask[:, None, None], meshes.faces[shape_id], 0),
        "face_mask": meshes.face_mask[shape_id] & mask[:, None],
        "object_mask": mask,
        "object_scalars": np.stack(
            [arrays["mass"], arrays["friction"], arrays["restitution"], arrays["scale"]], -1),
        "floor": arrays["floor"],
        "gravity": arrays["gravity"],
    }


def faces_from_verts(verts: torch.Tensor, face_index: torch.Tensor) -> torch.Tensor:
    """Gather each face's three vertices: verts (..., K, V, 3), face_index (..., K, P, 3) long
    -> (..., K, P, 3, 3) (face, corner, xyz). Used to rebuild tokens from predicted vertices."""
    *lead, P, _ = face_index.shape
    flat = face_index.reshape(*lead, P * 3, 1).expand(*lead, P * 3, 3)
    return torch.gather(verts, -2, flat).reshape(*lead, P, 3, 3)
