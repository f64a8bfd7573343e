"""Shape sets: collision geometry for PyBullet and a decimated token mesh per shape.

A shape set is ``procedural`` (built from formulas, convex decomposition by PyBullet's V-HACD,
cached on disk) or ``kubasic:PATH`` (Kubric's KuBasic collision assets read from PATH, never
copied). Every shape is unit size and centred on its centre of mass, so an object's mass is
``volume * density * scale**3`` and its pose is its centre-of-mass pose.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eqscale.atomic import atomic_path, write_text_atomic
from eqscale.data.meshes import PROCEDURAL_SHAPES, procedural_mesh
from eqscale.errors import EqscaleError

# V-HACD settings: coarse enough that all 11 procedural shapes decompose in about 12 s on one
# core, fine enough that holes (torus, knot, sponge) stay open. The voxel grid is isotropic, so
# thin shapes (the gear's teeth, legs and ears) need more voxels to be resolved at all: a finer
# grid for them. Part of the cache key.
VHACD_PARAMS = {"resolution": 50000, "concavity": 0.001, "depth": 8, "maxNumVerticesPerCH": 32}
VHACD_FINE = {"gear": 200000, "spot": 200000, "suzanne": 200000, "teapot": 200000}
CACHE_VERSION = 1


@dataclass(frozen=True)
class Shape:
    """One unit-size shape: ``collision_file`` holds one ``o`` group per convex part."""

    name: str
    volume: float
    collision_file: str
    collision_vertices: np.ndarray  # (n, 3) all convex-part vertices, for bounding boxes
    token_vertices: np.ndarray  # (v, 3) float64, decimated surface
    token_faces: np.ndarray  # (p, 3) int64, p <= faces_per_object


@dataclass(frozen=True)
class ShapeSet:
    spec: str
    faces_per_object: int
    shapes: tuple[Shape, ...]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.shapes]


def cache_dir() -> Path:
    """``$EQSCALE_CACHE`` or ``~/.cache/eqscale``: where V-HACD results are kept."""
    root = os.environ.get("EQSCALE_CACHE") or Path.home() / ".cache" / "eqscale"
    return Path(root)


@contextlib.contextmanager
def _quiet_stdout():
    """V-HACD prints its progress from C; send file descriptor 1 to /dev/null meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _write_obj(path: Path, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Write convex parts as one ``o`` group each, atomically."""
    lines, offset = [], 1
    for i, (verts, faces) in enumerate(parts):
        lines.append(f"o convex_{i}")
        lines += [f"v {x:.8f} {y:.8f} {z:.8f}" for x, y, z in verts]
        lines += [f"f {a + offset} {b + offset} {c + offset}" for a, b, c in faces]
        offset += len(verts)
    write_text_atomic(path, "\n".join(lines) + "\n")


def read_obj_vertices(path: str | Path) -> np.ndarray:
    """All ``v`` lines of an OBJ file, (n, 3)."""
    verts = [line.split()[1:4] for line in Path(path).read_text().splitlines()
             if line.startswith("v ")]
    return np.asarray(verts, dtype=np.float64).reshape(-1, 3)


def _read_obj_parts(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangles of an OBJ file (all groups together; polygons fanned)."""
    verts, faces = [], []
    for line in path.read_text().splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "v":
            verts.append([float(x) for x in fields[1:4]])
        elif fields[0] == "f":
            idx = [int(f.split("/")[0]) - 1 for f in fields[1:]]
            faces += [(idx[0], idx[i], idx[i + 1]) for i in range(1, len(idx) - 1)]
    return np.asarray(verts, dtype=np.float64), np.asarray(faces, dtype=np.int64)


def convex_decomposition(name: str, mesh) -> Path:
    """Cached path of the convex decomposition of ``mesh`` (a convex mesh is its own part)."""
    import pybullet

    key = hashlib.sha256()
    key.update(np.ascontiguousarray(mesh.vertices, dtype=np.float64).tobytes())
    key.update(np.ascontiguousarray(mesh.faces, dtype=np.int64).tobytes())
    params = {**VHACD_PARAMS, "resolution": VHACD_FINE.get(name, VHACD_PARAMS["resolution"])}
    key.update(json.dumps([params, CACHE_VERSION]).encode())
    folder = cache_dir() / "vhacd"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # e.g. a read-only home: fall back to the temporary folder
        import tempfile

        folder = Path(tempfile.gettempdir()) / "eqscale-cache" / "vhacd"
        folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{key.hexdigest()[:16]}.obj"
    if path.exists():
        return path
    if mesh.is_convex:
        _write_obj(path, [(mesh.vertices, mesh.faces)])
        return path
    tag = f"{os.getpid()}"
    src, log = (folder / f".{name}.{tag}.{ext}" for ext in ("in.obj", "log"))
    try:
        _write_obj(src, [(mesh.vertices, mesh.faces)])
        with atomic_path(path, suffix=".out.obj") as dst:
            with _quiet_stdout():
                pybullet.vhacd(str(src), str(dst), str(log), **params)
            if not dst.exists() or "o " not in dst.read_text():
                raise RuntimeError(f"V-HACD produced no convex parts for {name}")
    finally:
        for tmp in (src, log):
            tmp.unlink(missing_ok=True)
    return path


def decimate(verts: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, ...]:
    """A surface of at most ``max_faces`` triangles: quadric decimation, then, if it cannot get
    that low (small budgets on holed shapes) or collapses the surface to nothing (budgets of 1
    to 3 faces), the largest-area faces; unused vertices dropped. Never empty: every face is a
    token, and a shape without tokens could not be seen by a model."""
    import fast_simplification

    verts, faces = np.asarray(verts, np.float64), np.asarray(faces, np.int64)
    original = verts, faces
    target = max_faces
    while len(faces) > max_faces and target >= 1:
        v, f = fast_simplification.simplify(verts, faces, target_count=target)
        if len(f) <= max_faces or target == 1:
            verts, faces = np.asarray(v, np.float64), np.asarray(f, np.int64)
            break
        target = max(1, target - max(1, (len(f) - max_faces)))
    if len(faces) == 0:
        verts, faces = original
    if len(faces) > max_faces:
        tri = verts[faces]
        area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        faces = faces[np.sort(np.argsort(-area, kind="stable")[:max_faces])]
    used, inverse = np.unique(faces.ravel(), return_inverse=True)
    return verts[used], inverse.reshape(-1, 3).astype(np.int64)


def _procedural_set(faces_per_object: int) -> tuple[Shape, ...]:
    shapes = []
    for name in PROCEDURAL_SHAPES:
        mesh = procedural_mesh(name)
        collision = convex_decomposition(name, mesh)
        tv, tf = decimate(mesh.vertices, mesh.faces, faces_per_object)
        shapes.append(Shape(name, float(mesh.volume), str(collision),
                            read_obj_vertices(collision), tv, tf))
    return tuple(shapes)


def _read_json_lenient(path: Path) -> dict:
    """KuBasic's ``data.json``; tolerates the trailing commas some of them have."""
    text = path.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def _kubasic_set(root: Path, faces_per_object: int) -> tuple[Shape, ...]:
    if not root.is_dir():
        raise EqscaleError(f"kubasic shape folder not found: {root}")
    shapes = []
    for name in PROCEDURAL_SHAPES:
        folder = root / name
        collision, data = folder / "collision_geometry.obj", folder / "data.json"
        for needed in (collision, data):
            if not needed.is_file():
                raise EqscaleError(f"kubasic asset missing: {needed}")
        try:
            meta = _read_json_lenient(data)
            volume = float(meta["metadata"]["volume"])
        except (ValueError, KeyError, TypeError) as exc:
            raise EqscaleError(f"kubasic asset unreadable: {data} ({exc})") from None
        verts, faces = _read_obj_parts(collision)
        if len(verts) == 0 or len(faces) == 0:
            raise EqscaleError(f"kubasic asset has no mesh: {collision}")
        tv, tf = decimate(verts, faces, faces_per_object)
        shapes.append(Shape(name, volume, str(collision.resolve()), verts, tv, tf))
    return tuple(shapes)


def load_shape_set(spec: str, faces_per_object: int) -> ShapeSet:
    """``'procedural'`` or ``'kubasic:PATH'`` with token meshes of at most that many faces."""
    if faces_per_object < 1:
        raise EqscaleError(f"faces_per_object must be >= 1, got {faces_per_object}")
    if spec == "procedural":
        shapes = _procedural_set(faces_per_object)
    elif spec.startswith("kubasic:"):
        shapes = _kubasic_set(Path(spec.split(":", 1)[1]).expanduser(), faces_per_object)
    else:
        raise EqscaleError(f"unknown shape set {spec!r}: use 'procedural' or 'kubasic:PATH'")
    return ShapeSet(spec, faces_per_object, shapes)
