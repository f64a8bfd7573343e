"""Shared helpers of the training tests: tiny configs, metric reading, subprocess runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from eqscale.train.config import make_config
from eqscale.train.metrics import read_metrics

REPO_ROOT = Path(__file__).resolve().parents[2]


def tiny(**overrides):
    """The `tiny` preset with test-friendly overrides (quick evaluation)."""
    return make_config("tiny", **overrides)


def train_losses(run_dir: Path) -> list[float]:
    return [r["loss"] for r in read_metrics(run_dir / "metrics.jsonl") if r["kind"] == "train"]


def read_result(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def cli_env() -> dict[str, str]:
    """Environment for eqscale subprocesses: one thread each (bitwise-reproducible, polite)."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
    env["PYTHONPATH"] = str(REPO_ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def eqscale_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "eqscale", *args]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(eqscale_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=cli_env(), cwd=REPO_ROOT)


def _quat_mul(a, b):
    """Hamilton product of quaternions (..., 4) in w, x, y, z order."""
    import numpy as np

    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz,
                     aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def moved_copy(src: Path, dst: Path, split: str, rotation_wxyz, translation) -> Path:
    """Copy dataset ``src`` to ``dst`` with ``split`` moved by one proper rigid motion.

    Positions p -> R p + t, orientations q -> q_R q, floor (n, d) -> (R n, d + (R n).t),
    gravity g -> R g; the manifest's checksums are updated, so the copy is a valid dataset.
    """
    import shutil

    import numpy as np
    from scipy.spatial.transform import Rotation

    from eqscale.data.format import sha256_file

    shutil.copytree(src, dst)
    q_r = np.asarray(rotation_wxyz, dtype=np.float64)
    q_r = q_r / np.linalg.norm(q_r)
    rot = Rotation.from_quat([q_r[1], q_r[2], q_r[3], q_r[0]]).as_matrix()
    t = np.asarray(translation, dtype=np.float64)
    manifest = json.loads((dst / "manifest.json").read_text())
    for entry in manifest["splits"][split]["shards"]:
        folder = dst / entry["path"]
        arrays = {n: np.load(folder / f"{n}.npy")
                  for n in ("positions", "quaternions", "floor", "gravity")}
        arrays["positions"] = arrays["positions"] @ rot.T + t
        arrays["quaternions"] = _quat_mul(q_r, arrays["quaternions"].astype(np.float64))
        normal = arrays["floor"][:, :3] @ rot.T
        offset = arrays["floor"][:, 3] + normal @ t
        arrays["floor"] = np.concatenate([normal, offset[:, None]], axis=1)
        arrays["gravity"] = arrays["gravity"] @ rot.T
        for name, value in arrays.items():
            np.save(folder / f"{name}.npy", value.astype(np.float32))
            entry["sha256"][name] = sha256_file(folder / f"{name}.npy")
        meta = folder / "shard.json"
        if meta.is_file():
            meta.write_text(json.dumps(entry, indent=1) + "\n")
    (dst / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return dst
