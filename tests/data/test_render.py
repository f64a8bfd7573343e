"""``render``: a PNG showing the floor and every object, from the token meshes."""

from __future__ import annotations

import numpy as np
import pytest

from eqscale.data.render import render_trajectory
from eqscale.errors import DatasetError, EqscaleError


def test_render_draws_floor_and_objects(tiny_dataset, tmp_path):
    import matplotlib.image

    out = render_trajectory(tiny_dataset, "test", 1, tmp_path / "t.png")
    image = matplotlib.image.imread(out)[..., :3]
    assert image.shape[0] > 200 and image.shape[1] > 800
    grey = np.all(np.abs(image - image.mean(-1, keepdims=True)) < 0.02, -1) & (
        image.mean(-1) < 0.8) & (image.mean(-1) > 0.5)
    saturated = image.max(-1) - image.min(-1) > 0.25  # coloured object faces
    assert grey.mean() > 0.02  # the floor patch
    assert saturated.mean() > 0.001
    assert not list(tmp_path.glob(".*tmp"))


def test_render_bad_input(tiny_dataset, tmp_path):
    with pytest.raises(DatasetError, match="out of range"):
        render_trajectory(tiny_dataset, "test", 99, tmp_path / "t.png")
    with pytest.raises(EqscaleError, match="png"):
        render_trajectory(tiny_dataset, "test", 0, tmp_path / "t.jpg")
    with pytest.raises(DatasetError, match="missing"):
        render_trajectory(tmp_path, "test", 0, tmp_path / "t.png")


def test_render_leaves_a_notebooks_matplotlib_backend_alone(tiny_dataset, tmp_path):
    """Drawing uses its own Agg canvas: the backend a user (or a notebook) chose stays."""
    import os
    import subprocess
    import sys

    code = ("from eqscale.data.render import render_trajectory; import matplotlib; "
            f"render_trajectory({str(tiny_dataset)!r}, 'test', 0, {str(tmp_path / 'r.png')!r}); "
            "print(matplotlib.get_backend())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "MPLBACKEND": "svg"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "svg" and (tmp_path / "r.png").stat().st_size > 10_000
