"""Shared fixtures: the project's ``../shared`` folder (skipped when absent) and test data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the clone (CI has it; a user's clone may not)."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"../shared is not beside this clone ({SHARED_DIR}); reference data absent")
    return SHARED_DIR


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small procedural dataset generated once per session: 8 train / 4 val / 4 test
    trajectories, 8 faces per object, 2 train shards (about 1 s, plus about 10 s of V-HACD the
    first time the shape cache is empty)."""
    from eqscale.data.generate import generate_dataset

    root = tmp_path_factory.mktemp("tiny_dataset") / "data"
    generate_dataset(root, n_train=8, n_val=4, n_test=4, seed=0, workers=1,
                     faces_per_object=8, shard_size=4, progress=False)
    return root


@pytest.fixture()
def small_disk(tmp_path: Path):
    """A folder on its own 8 MiB file system (tmpfs), to meet a full disk for real; skipped
    where this user cannot mount one (CI without root)."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot mount a small file system here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30)
