"""The 11 procedural unit-size shapes: closed triangle meshes built from formulas.

Each builder returns a watertight ``trimesh.Trimesh``; :func:`procedural_mesh` then normalises it
the way KuBasic's assets are: the largest bounding-box side is 1 and the origin is the centre of
mass (at density 1 the mass equals the volume). Three non-convex stand-ins replace KuBasic's
scanned spot, teapot and suzanne, which cannot be generated from a formula.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

PROCEDURAL_SHAPES = (
    "cube", "cylinder", "sphere", "cone", "torus", "gear",
    "torus_knot", "sponge", "spot", "teapot", "suzanne",
)


def _grid_faces(rows: int, cols: int, wrap_rows: bool) -> np.ndarray:
    """Two triangles per cell of a (rows, cols) vertex grid that wraps around in columns."""
    faces = []
    last = rows if wrap_rows else rows - 1
    for i in range(last):
        for j in range(cols):
            a, b = i * cols + j, i * cols + (j + 1) % cols
            c, d = ((i + 1) % rows) * cols + j, ((i + 1) % rows) * cols + (j + 1) % cols
            faces += [(a, c, b), (b, c, d)]
    return np.asarray(faces, dtype=np.int64)


def _tube(curve: Callable[[np.ndarray], np.ndarray], radius: float, n_u: int, n_v: int):
    """A closed tube of given radius around a closed 3D curve (parallel-transport frames)."""
    import trimesh

    u = np.linspace(0.0, 2 * np.pi, n_u, endpoint=False)
    centre = curve(u)
    tangent = np.roll(centre, -1, axis=0) - np.roll(centre, 1, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.cross(tangent, [0.0, 0.0, 1.0])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    binormal = np.cross(tangent, normal)
    v = np.linspace(0.0, 2 * np.pi, n_v, endpoint=False)
    ring = np.cos(v)[None, :, None] * normal[:, None] + np.sin(v)[None, :, None] * binormal[:, None]
    verts = (centre[:, None] + radius * ring).reshape(-1, 3)
    mesh = trimesh.Trimesh(verts, _grid_faces(n_u, n_v, wrap_rows=True), process=True)
    mesh.fix_normals()
    return mesh


def _radial_sphere(radius_fn: Callable[[np.ndarray], np.ndarray], subdivisions: int = 4):
    """A star-shaped closed surface: unit-sphere directions d scaled by radius_fn(d) (N, 3)."""
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    d = sphere.vertices
    return trimesh.Trimesh(d * radius_fn(d)[:, None], sphere.faces, process=True)


def _gear():
    """A 12-tooth spur gear: a star-shaped outline fan-triangulated and extruded."""
    import trimesh

    teeth, n = 12, 96
    angle = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    phase = (angle * teeth / (2 * np.pi)) % 1.0
    radius = np.where((phase > 0.25) & (phase < 0.75), 1.0, 0.8)
    outline = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    verts2d = np.vstack([[0.0, 0.0], outline])
    faces = np.array([(0, 1 + i, 1 + (i + 1) % n) for i in range(n)])
    return trimesh.creation.extrude_triangulation(verts2d, faces, height=0.5)


def _sponge():
    """Level-1 Menger sponge: the boundary faces of a 3x3x3 voxel grid without the 7 centres."""
    import trimesh

    filled = np.ones((3, 3, 3), dtype=bool)
    for axis in range(3):
        index = [1, 1, 1]
        for k in range(3):
            index[axis] = k
            filled[tuple(index)] = False
    corners = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                        [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=float)
    # Each face of a unit voxel as 4 corner indices, counter-clockwise seen from outside.
    quads = {(-1, 0, 0): (0, 4, 7, 3), (1, 0, 0): (1, 2, 6, 5), (0, -1, 0): (0, 1, 5, 4),
             (0, 1, 0): (3, 7, 6, 2), (0, 0, -1): (0, 3, 2, 1), (0, 0, 1): (4, 5, 6, 7)}
    verts, faces = [], []
    for cell in zip(*np.nonzero(filled)):
        for offset, quad in quads.items():
            nb = np.add(cell, offset)
            if np.all((nb >= 0) & (nb < 3)) and filled[tuple(nb)]:
                continue
            base = len(verts)
            verts += [corners[q] + cell for q in quad]
            faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    return trimesh.Trimesh(np.asarray(verts), np.asarray(faces), process=True)


def _teapot():
    """Teapot stand-in: a revolved profile with a bulging body, a waist and a lid knob."""
    import trimesh

    z = np.linspace(0.0, 1.0, 40)
    body = 0.55 * np.sin(np.pi * np.clip(z / 0.75, 0, 1)) ** 0.7
    knob = 0.12 * np.sin(np.pi * np.clip((z - 0.75) / 0.25, 0, 1)) ** 0.5
    r = np.maximum(np.where(z <= 0.75, body, 0.0), knob) + 1e-3
    r[0] = r[-1] = 0.0
    r[1] = max(r[1], 0.3)  # flat foot
    return trimesh.creation.revolve(np.stack([r, z], axis=1), sections=32)


def _spot(d: np.ndarray) -> np.ndarray:
    """Cow-like stand-in: an elongated body with four legs downward and a head bump."""
    x, y, z = d.T
    body = 1.0 / np.sqrt((x / 1.0) ** 2 + (y / 0.55) ** 2 + (z / 0.5) ** 2)
    legs = sum(0.5 * np.exp(-((x - sx * 0.55) ** 2 + (y - sy * 0.45) ** 2 + (z + 0.75) ** 2) / 0.03)
               for sx in (-1, 1) for sy in (-1, 1))
    head = 0.35 * np.exp(-((x - 0.9) ** 2 + (z - 0.35) ** 2 + y**2) / 0.05)
    return body + legs + head


def _suzanne(d: np.ndarray) -> np.ndarray:
    """Monkey-head stand-in: a flattened head with two ears and a protruding muzzle."""
    x, y, z = d.T
    head = 1.0 / np.sqrt(x**2 + (y / 0.85) ** 2 + (z / 0.9) ** 2)
    ears = sum(0.6 * np.exp(-((x - sx * 0.95) ** 2 + (z - 0.1) ** 2 + y**2) / 0.02)
               for sx in (-1, 1))
    muzzle = 0.25 * np.exp(-((y + 1.0) ** 2 + (z + 0.3) ** 2 + x**2) / 0.1)
    return head + ears + muzzle


def _raw_mesh(name: str):
    import trimesh.creation as tc

    if name == "cube":
        return tc.box(extents=(1.0, 1.0, 1.0))
    if name == "cylinder":
        return tc.cylinder(radius=0.5, height=1.0, sections=32)
    if name == "sphere":
        return tc.icosphere(subdivisions=3, radius=0.5)
    if name == "cone":
        return tc.cone(radius=0.5, height=1.0, sections=32)
    if name == "torus":
        return tc.torus(major_radius=0.35, minor_radius=0.15, major_sections=32, minor_sections=16)
    if name == "gear":
        return _gear()
    if name == "torus_knot":
        def knot(u: np.ndarray) -> np.ndarray:  # the (2, 3) torus knot
            r = 2.0 + np.cos(3 * u)
            return np.stack([r * np.cos(2 * u), r * np.sin(2 * u), -np.sin(3 * u)], axis=1)
        return _tube(knot, radius=0.45, n_u=160, n_v=12)
    if name == "sponge":
        return _sponge()
    if name == "spot":
        return _radial_sphere(_spot)
    if name == "teapot":
        return _teapot()
    if name == "suzanne":
        return _radial_sphere(_suzanne)
    raise KeyError(name)


def procedural_mesh(name: str):
    """The unit-size shape ``name``: largest extent 1, centre of mass at the origin."""
    mesh = _raw_mesh(name)
    if not mesh.is_volume:
        raise RuntimeError(f"procedural shape {name!r} is not a closed volume")  # a builder bug
    mesh.apply_scale(1.0 / float(np.max(mesh.extents)))
    mesh.apply_translation(-mesh.center_mass)
    return mesh
