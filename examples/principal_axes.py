"""A third arm for the study: a transformer that sees each object in its principal-axes frame.

Use it as a plugin (docs/models.md, "Adding an architecture")::

    PYTHONPATH=examples EQSCALE_PLUGINS=principal_axes eqscale sweep run --study STUDY.json ...

Each object's inputs (its vertices at t-1 and t, the floor, gravity) are expressed in the frame
of its principal axes at t, centred on its centroid, and the predicted correction is read in
that frame and turned back. The inputs are then invariant to rotations and translations of the
object, up to the frame's ambiguities (near-equal inertia axes, the sign rule): approximately
invariant, not exactly equivariant like GATr. The trunk is the baseline transformer, unchanged,
with the baseline's size schedule, parameter count and FLOP formula (the frame costs a few
thousand FLOPs per object, negligible and not counted).
"""

from __future__ import annotations

from eqscale.models.registry import Architecture, architecture, register


def principal_axes(faces_t, face_mask, centroid):
    """Per-object right-handed principal axes (B, K, 3, 3), columns from the largest spread to
    the smallest; each axis points to where the third moment of the vertices along it is
    positive (a deterministic choice of sign); padded objects get the identity."""
    import torch

    rel = faces_t - centroid[:, :, None, None, :]  # (B, K, P, 3, 3)
    weight = face_mask[..., None, None].to(rel.dtype)
    points = (rel * weight).flatten(2, 3)  # (B, K, 3P, 3), zeros where padded
    cov = points.transpose(-1, -2) @ points
    eye = torch.eye(3, dtype=cov.dtype, device=cov.device)
    _, vectors = torch.linalg.eigh(cov + 1e-9 * eye)  # ascending eigenvalues
    axes = vectors.flip(-1)
    skew = ((points @ axes) ** 3).sum(-2)  # (B, K, 3)
    axes = axes * torch.where(skew < 0, -1.0, 1.0).to(axes.dtype)[..., None, :]
    third = torch.linalg.cross(axes[..., 0], axes[..., 1], dim=-1)
    axes = torch.stack([axes[..., 0], axes[..., 1], third], dim=-1)
    real = face_mask.any(-1)[..., None, None]
    return torch.where(real, axes, eye)


def build(config, faces_per_object):
    from eqscale.models.transformer import TransformerTaskModel

    class PrincipalAxesTransformer(TransformerTaskModel):
        arch = "principal_axes"

        def input_frame(self, inp):
            return principal_axes(inp.faces_t, inp.face_mask, inp.centroid), inp.centroid

    return PrincipalAxesTransformer(config, faces_per_object)


register(Architecture("principal_axes", architecture("transformer").sizes, build,
                      label="Transformer, principal-axes inputs", color="#7a4fb0"))
