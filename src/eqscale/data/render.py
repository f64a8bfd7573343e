"""``eqscale render``: a picture of one trajectory, drawn from its token meshes with matplotlib.

One 3D panel per chosen frame; every object is a coloured set of token faces, the floor a grey
square patch of the stored floor plane (so rotated datasets render correctly too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eqscale.atomic import atomic_path
from eqscale.data.format import FRAMES, SPLITS, SplitArrays, read_manifest
from eqscale.data.tokens import TokenMeshes, object_statics, posed_vertices
from eqscale.errors import EqscaleError

PANEL_FRAMES = tuple(i * (FRAMES - 1) // 4 for i in range(5))  # first, quarters, last


def _floor_patch(floor: np.ndarray, centre: np.ndarray, half: float) -> np.ndarray:
    """Corners (4, 3) of a square of the plane n.x = d around the projection of ``centre``."""
    n, d = floor[:3] / np.linalg.norm(floor[:3]), float(floor[3])
    u = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    w = np.cross(n, u)
    c = centre - (centre @ n - d) * n
    return np.array([c + half * (a * u + b * w) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))])


def render_trajectory(path: str | Path, split: str, index: int, out: str | Path) -> Path:
    """Draw trajectory ``index`` of ``split`` at a few frames into the PNG ``out``.

    Draws on its own Agg canvas, not through pyplot: a notebook's backend stays as it was."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    if split not in SPLITS:
        raise EqscaleError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise EqscaleError(f"output must be a .png file, got {out}")
    if out.is_dir():
        raise EqscaleError(f"--out {out} is a folder; give a .png file path")
    from eqscale.oserrors import ensure_writable_dir

    ensure_writable_dir(out.parent, "--out folder")
    manifest = read_manifest(path)
    arrays = SplitArrays(path, split, manifest)
    traj = arrays.trajectory(index)
    meshes = TokenMeshes.from_manifest(manifest)
    statics = object_statics(meshes, traj)
    verts = posed_vertices(statics["local"], traj["positions"].transpose(1, 0, 2),
                           traj["quaternions"].transpose(1, 0, 2))  # (F, K, V, 3)
    objects = np.flatnonzero(traj["mask"])
    real = verts[:, objects][:, statics["vert_mask"][objects]]
    floor = traj["floor"].astype(np.float64)
    corners = _floor_patch(floor, real.reshape(-1, 3).mean(0), 0.0)[:1]  # a point on the floor
    points = np.vstack([real.reshape(-1, 3), corners])
    lo, hi = points.min(0) - 0.5, points.max(0) + 0.5
    centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2
    names = [s["name"] for s in manifest["shapes"]]
    colours = colormaps["tab10"]

    fig = Figure(figsize=(4.5 * len(PANEL_FRAMES), 4.2))
    FigureCanvasAgg(fig)
    for p, f in enumerate(PANEL_FRAMES):
        ax = fig.add_subplot(1, len(PANEL_FRAMES), p + 1, projection="3d")
        ax.add_collection3d(Poly3DCollection(
            [_floor_patch(floor, centre, half)],
            facecolor=(0.55, 0.55, 0.55, 0.45), edgecolor=(0.3, 0.3, 0.3, 0.6)))
        for k in objects:
            faces = verts[f, k][statics["face_index"][k][statics["face_mask"][k]]]
            ax.add_collection3d(Poly3DCollection(
                faces, facecolor=colours(k % 10), edgecolor="k", linewidths=0.2, alpha=0.9))
        for axis, a, b in zip("xyz", lo, hi):
            getattr(ax, f"set_{axis}lim")(a, b)
        ax.set_box_aspect(hi - lo, zoom=1.3)
        ax.view_init(elev=22, azim=-60)
        ax.set_title(f"frame {f} (t = {f / manifest['frame_rate']:.2f} s)")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_zlabel("z")
    legend = ", ".join(f"{k}: {names[traj['shape_id'][k]]}" for k in objects)
    fig.suptitle(f"{Path(path).name} {split}[{index}], seed {int(traj['seed'])}: {legend}",
                 fontsize=9)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return out
