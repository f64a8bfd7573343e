"""``eqscale inspect``: validate a dataset against its format (docs/data.md) and summarise it.

Checks, in order: the manifest (every shape has token faces); every shard's files, checksums,
dtypes and shapes; finite values; and physical plausibility (object counts, ids in range, unit
quaternions, masses equal to volume x density x scale^3, nothing sunk through the floor, no
impossible speeds). The first failure raises :class:`DatasetError` with one line naming the bad
file. The summary also gives each split's reference losses (constant velocity, no motion):
what a model must beat.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from eqscale.data.format import ARRAYS, SPLITS, SplitArrays, read_manifest, sha256_file
from eqscale.data.simulate import quaternion_to_matrix
from eqscale.data.tokens import TokenMeshes, posed_vertices
from eqscale.data.verify import check_shapes
from eqscale.errors import DatasetError

SINK_TOLERANCE = 0.05  # metres a centre of mass may go below the floor's top face
MAX_SPEED = 60.0  # m/s; MOVi-B objects start below ~13 m/s and fall at most 2 s
MASS_RTOL = 1e-4
REFERENCE_NAMES = ("constant_velocity", "rigid_constant_velocity", "no_motion")


def _check_files(root: Path, manifest: dict) -> None:
    for split in SPLITS:
        info = manifest["splits"].get(split)
        if info is None:
            raise DatasetError(f"{root / 'manifest.json'}: split {split!r} missing")
        if sum(e["count"] for e in info["shards"]) != info["count"]:
            raise DatasetError(f"{root / 'manifest.json'}: split {split!r} shards do not add up "
                               f"to {info['count']} trajectories")
        for entry in info["shards"]:
            for name in ARRAYS:
                path = root / entry["path"] / f"{name}.npy"
                if not path.is_file():
                    raise DatasetError(f"missing array file {path}")
                if sha256_file(path) != entry["sha256"].get(name):
                    raise DatasetError(f"{path}: checksum mismatch (file changed or corrupt)")


def _check_physics(where: Path, manifest: dict, a: dict[str, np.ndarray]) -> None:
    """Plausibility of one shard's arrays ``a`` (the shard folder is ``where``)."""
    for name, array in a.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise DatasetError(f"{where / (name + '.npy')}: NaN or infinite values")
    mask = a["mask"]
    n = mask.sum(1)
    if n.size and (n.min() < 1 or not np.array_equal(mask, np.arange(10) < n[:, None])):
        raise DatasetError(f"{where / 'mask.npy'}: object slots must be the first 1..10")
    shapes, materials = manifest["shapes"], manifest["materials"]
    for name, table in (("shape_id", shapes), ("material_id", materials)):
        ids = a[name][mask]
        if ids.size and (ids.min() < 0 or ids.max() >= len(table)):
            raise DatasetError(f"{where / (name + '.npy')}: id out of range 0..{len(table) - 1}")
    if (a["scale"][mask] <= 0).any():
        raise DatasetError(f"{where / 'scale.npy'}: non-positive scale")
    volume = np.array([s["volume"] for s in shapes])[a["shape_id"][mask]]
    density = np.array([m["density"] for m in materials])[a["material_id"][mask]]
    expected = volume * density * a["scale"][mask].astype(np.float64) ** 3
    if not np.allclose(a["mass"][mask], expected, rtol=MASS_RTOL, atol=0):
        raise DatasetError(f"{where / 'mass.npy'}: mass != volume x density x scale^3")
    q_norm = np.linalg.norm(a["quaternions"][mask].astype(np.float64), axis=-1)
    if q_norm.size and np.abs(q_norm - 1).max() > 1e-3:
        raise DatasetError(f"{where / 'quaternions.npy'}: quaternions are not unit length")
    normal, offset = a["floor"][:, :3].astype(np.float64), a["floor"][:, 3].astype(np.float64)
    if np.abs(np.linalg.norm(normal, axis=1) - 1).max(initial=0) > 1e-4:
        raise DatasetError(f"{where / 'floor.npy'}: floor normal is not unit length")
    height = np.einsum("tkfi,ti->tkf", a["positions"].astype(np.float64), normal)
    height -= offset[:, None, None]
    if (height[mask] < -SINK_TOLERANCE).any():
        raise DatasetError(f"{where / 'positions.npy'}: an object sank below the floor")
    speed = np.linalg.norm(np.diff(a["positions"], axis=2), axis=-1) * manifest["frame_rate"]
    if (speed[mask] > MAX_SPEED).any():
        raise DatasetError(f"{where / 'positions.npy'}: implausible speed above {MAX_SPEED} m/s")


def reference_sums(meshes: TokenMeshes, a: dict[str, np.ndarray]) -> tuple[dict[str, float], int]:
    """Summed task losses of the reference predictors over every sample (trajectory, t) of one
    shard's arrays ``a``, and the number of (object, t) pairs they are summed over.

    The task loss of a sample is the mean over its real objects of each object's mean squared
    token-vertex error; summing per-object errors and dividing by the pair count gives the mean
    over all real objects of a split, as evaluation weights batches (eqscale.train.evaluate).
    Predictors: constant velocity ``2 x(t) - x(t-1)``, rigid constant velocity (the last
    rotation about the token-mesh centroid and the centroid's last displacement, repeated; the
    rotation from the quaternions) and no motion ``x(t)``.
    """
    mask = a["mask"].astype(bool)  # (T, K)
    shape_id = np.where(mask, a["shape_id"], 0)
    local = meshes.vertices[shape_id] * np.where(mask, a["scale"], 0.0)[..., None, None]
    vert_mask = meshes.vert_mask[shape_id] & mask[..., None]  # (T, K, V)
    sums, pairs = dict.fromkeys(REFERENCE_NAMES, 0.0), 0
    for i in range(len(mask)):
        quats = a["quaternions"][i].transpose(1, 0, 2)  # (F, K, 4)
        verts = posed_vertices(local[i], a["positions"][i].transpose(1, 0, 2), quats)
        prev, cur, nxt = verts[:-2], verts[1:-1], verts[2:]  # (F-2, K, V, 3)
        count = np.maximum(vert_mask[i].sum(-1), 1)  # (K,)
        centroid = (cur * vert_mask[i][..., None]).sum(-2) / count[:, None]  # (F-2, K, 3)
        step = centroid - (prev * vert_mask[i][..., None]).sum(-2) / count[:, None]
        rot = quaternion_to_matrix(quats)  # (F, K, 3, 3)
        turn = rot[1:-1] @ np.swapaxes(rot[:-2], -1, -2)  # rotation t-1 -> t
        rigid = np.einsum("fkij,fkvj->fkvi", turn, cur - centroid[..., None, :])
        rigid += (centroid + step)[..., None, :]
        for name, pred in (("constant_velocity", 2.0 * cur - prev),
                           ("rigid_constant_velocity", rigid), ("no_motion", cur)):
            sq = np.where(vert_mask[i], ((pred - nxt) ** 2).sum(-1), 0.0)  # (F-2, K, V)
            sums[name] += float((sq.sum(-1) / count)[:, mask[i]].sum())
        pairs += int(mask[i].sum()) * (verts.shape[0] - 2)
    return sums, pairs


def validate_dataset(path: str | Path) -> dict:
    """Validate the dataset at ``path`` (raises DatasetError); a summary dict."""
    root = Path(path)
    manifest = read_manifest(root)
    for key in ("config", "shapes", "materials", "splits", "frame_rate", "frames"):
        if key not in manifest:
            raise DatasetError(f"{root / 'manifest.json'}: key {key!r} missing")
    check_shapes(root, manifest)
    _check_files(root, manifest)
    summary = {"root": str(root), "manifest": manifest, "splits": {}}
    shape_counts, material_counts, objects = Counter(), Counter(), []
    meshes = TokenMeshes.from_manifest(manifest)
    summary["references"] = {}
    for split in SPLITS:
        arrays = SplitArrays(root, split, manifest)
        totals, pairs = dict.fromkeys(REFERENCE_NAMES, 0.0), 0
        for i, entry in enumerate(arrays.entries):
            a = {name: np.asarray(v) for name, v in arrays.shard(i).items()}
            _check_physics(root / entry["path"], manifest, a)
            shape_counts.update(a["shape_id"][a["mask"]].tolist())
            material_counts.update(a["material_id"][a["mask"]].tolist())
            objects += a["mask"].sum(1).tolist()
            sums, n = reference_sums(meshes, a)
            totals = {k: totals[k] + sums[k] for k in totals}
            pairs += n
        summary["splits"][split] = (len(arrays), arrays.n_shards)
        summary["references"][split] = {f"{k}_loss": v / max(pairs, 1) for k, v in totals.items()}
    summary["objects"] = objects
    summary["shape_counts"] = shape_counts
    summary["material_counts"] = material_counts
    summary["bytes"] = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return summary


def inspect_dataset(path: str | Path) -> str:
    """Validate the dataset and return a human-readable summary (the ``inspect`` command)."""
    s = validate_dataset(path)
    m = s["manifest"]
    cfg = m["config"]
    lines = [
        f"dataset {s['root']}: valid (format {m['format_version']})",
        f"  shapes {cfg['shapes']!r}, faces per object {cfg['faces_per_object']}, "
        f"seed {cfg['seed']}, {m['frames']} frames at {m['frame_rate']} fps",
    ]
    for split, (n, shards) in s["splits"].items():
        ref = s["references"][split]
        lines.append(f"  {split:5s}: {n} trajectories in {shards} shard(s); reference losses: "
                     f"constant velocity {ref['constant_velocity_loss']:.4g}, rigid "
                     f"constant velocity {ref['rigid_constant_velocity_loss']:.4g}, "
                     f"no motion {ref['no_motion_loss']:.4g}")
    if s["objects"]:
        obj = np.asarray(s["objects"])
        lines.append(f"  objects per scene: min {obj.min()}, mean {obj.mean():.2f}, "
                     f"max {obj.max()}")
    names = [sh["name"] for sh in m["shapes"]]
    total = max(1, sum(s["shape_counts"].values()))
    lines.append("  shapes: " + ", ".join(
        f"{names[i]} {100 * s['shape_counts'][i] / total:.0f}%" for i in range(len(names))))
    lines.append("  materials: " + ", ".join(
        f"{mat['name']} {100 * s['material_counts'][i] / total:.0f}%"
        for i, mat in enumerate(m["materials"])))
    lines.append(f"  size on disk: {s['bytes'] / 2**20:.2f} MiB")
    return "\n".join(lines)
