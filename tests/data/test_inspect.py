"""``inspect``: a valid dataset's summary; broken ones give one line naming the bad file."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from eqscale.data import SceneDataset
from eqscale.data.inspect import inspect_dataset
from eqscale.errors import DatasetError
from tests.edges import rewrite_array


@pytest.fixture()
def copy(tiny_dataset, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(tiny_dataset, dst)
    return dst


def test_summary_of_a_valid_dataset(tiny_dataset):
    text = inspect_dataset(tiny_dataset)
    assert "valid" in text
    assert "train: 8 trajectories in 2 shard(s)" in text
    assert "test : 4 trajectories" in text
    for word in ("objects per scene", "cube", "metal", "rubber", "MiB"):
        assert word in text
    for split in ("train", "val ", "test "):  # reference losses per split
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(split))
        assert "constant velocity" in line and "no motion" in line


def test_missing_manifest(tmp_path):
    with pytest.raises(DatasetError, match="manifest.json is missing"):
        inspect_dataset(tmp_path)


def test_corrupt_manifest(copy):
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="corrupt manifest"):
        SceneDataset(copy, "train")


def test_missing_array_file(copy):
    (copy / "val" / "shard_00000" / "mass.npy").unlink()
    with pytest.raises(DatasetError, match=r"val/shard_00000/mass\.npy"):
        inspect_dataset(copy)
    with pytest.raises(DatasetError, match="missing array file"):
        SceneDataset(copy, "val")


def test_truncated_file_fails_checksum_and_loading(copy):
    path = copy / "train" / "shard_00001" / "positions.npy"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetError, match=r"shard_00001/positions\.npy: checksum mismatch"):
        inspect_dataset(copy)
    with pytest.raises(DatasetError, match=r"positions\.npy"):
        SceneDataset(copy, "train")


def test_wrong_dtype_is_named(copy):
    rel = "test/shard_00000/scale.npy"
    rewrite_array(copy, rel, np.load(copy / rel).astype(np.float64))
    with pytest.raises(DatasetError, match=r"scale\.npy: expected float32"):
        inspect_dataset(copy)


def test_nan_is_named(copy):
    rel = "test/shard_00000/positions.npy"
    positions = np.load(copy / rel)
    positions[1, 0, 5, 2] = np.nan
    rewrite_array(copy, rel, positions)
    with pytest.raises(DatasetError, match=r"positions\.npy: NaN"):
        inspect_dataset(copy)


def test_object_below_the_floor_is_implausible(copy):
    rel = "val/shard_00000/positions.npy"
    positions = np.load(copy / rel)
    positions[0, 0, 10:, 2] = -1.0
    rewrite_array(copy, rel, positions)
    with pytest.raises(DatasetError, match="sank below the floor"):
        inspect_dataset(copy)


def test_mass_must_follow_volume_density_scale(copy):
    rel = "train/shard_00000/mass.npy"
    mass = np.load(copy / rel)
    mass[2, 0] *= 1.5
    rewrite_array(copy, rel, mass)
    with pytest.raises(DatasetError, match="mass != volume"):
        inspect_dataset(copy)


def test_cli_gives_one_line_and_exit_code_2(copy):
    (copy / "test" / "shard_00000" / "seed.npy").write_bytes(b"garbage")
    proc = subprocess.run([sys.executable, "-m", "eqscale", "inspect", str(copy)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "seed.npy" in lines[0] and lines[0].startswith("eqscale: error:")
