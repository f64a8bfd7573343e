"""Generation: determinism across worker counts, resume after a kill, seeds, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eqscale.data import format as fmt
from eqscale.data.format import ARRAYS, SPLITS, SplitArrays
from eqscale.data.generate import cached_shape_set, generate_dataset, trajectory_seed
from eqscale.data.simulate import BulletClient, simulate_trajectory
from eqscale.errors import DatasetError, EqscaleError

SMALL = dict(n_train=6, n_val=2, n_test=2, seed=3, faces_per_object=8, shard_size=3,
             progress=False)


def _arrays(root) -> dict[str, dict[str, np.ndarray]]:
    return {split: {name: SplitArrays(root, split).array(name) for name in ARRAYS}
            for split in SPLITS}


def _assert_same(a, b) -> None:
    for split in SPLITS:
        for name in ARRAYS:
            np.testing.assert_array_equal(a[split][name], b[split][name], err_msg=name)


def test_one_and_two_workers_write_identical_datasets(tmp_path):
    one = generate_dataset(tmp_path / "one", workers=1, **SMALL)
    two = generate_dataset(tmp_path / "two", workers=2, **SMALL)
    _assert_same(_arrays(one), _arrays(two))
    m1, m2 = (json.loads((r / "manifest.json").read_text()) for r in (one, two))
    assert m1 == m2  # checksums included: the files are byte-identical


def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    reference = generate_dataset(tmp_path / "ref", workers=1, **SMALL)
    real_write, calls = fmt.write_shard, []

    def dying_write(split_dir, index, rows):
        calls.append(index)
        if len(calls) == 2:  # killed while writing the second shard: leave a partial temp
            (split_dir / f".{fmt.shard_name(index)}.999.tmp").mkdir(parents=True)
            raise KeyboardInterrupt
        return real_write(split_dir, index, rows)

    monkeypatch.setattr(fmt, "write_shard", dying_write)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(tmp_path / "cut", workers=1, **SMALL)
    monkeypatch.setattr(fmt, "write_shard", real_write)
    cut = tmp_path / "cut"
    assert json.loads((cut / "manifest.json").read_text())["status"] == "generating"
    with pytest.raises(DatasetError, match="incomplete"):
        SplitArrays(cut, "train")
    kept = cut / "train" / "shard_00000" / "positions.npy"
    mtime = kept.stat().st_mtime_ns
    # A finished shard damaged after the kill is detected by its checksum and redone.
    (cut / "train" / "shard_00000" / "mass.npy").write_bytes(b"junk")
    generate_dataset(cut, workers=1, **SMALL)
    assert not list(cut.rglob("*.tmp"))
    _assert_same(_arrays(reference), _arrays(cut))
    assert kept.stat().st_mtime_ns != mtime  # it was rewritten (damaged)
    # A complete dataset is left alone by a rerun.
    generate_dataset(cut, workers=1, **SMALL)
    assert kept.stat().st_mtime_ns == (cut / "train" / "shard_00000" / "positions.npy").stat(
        ).st_mtime_ns


def test_stored_seed_reproduces_its_trajectory(tiny_dataset):
    arrays = SplitArrays(tiny_dataset, "val")
    shapes = cached_shape_set("procedural", 8)
    traj = arrays.trajectory(3)
    assert int(traj["seed"]) == trajectory_seed(0, "val", 3)
    with BulletClient() as (pb, c):
        again = simulate_trajectory(pb, c, shapes, int(traj["seed"]))
    for name in ARRAYS:
        np.testing.assert_array_equal(np.asarray(again[name]).astype(ARRAYS[name][0]),
                                      traj[name])


def test_seeds_are_distinct_across_splits_and_base_seeds():
    seeds = {trajectory_seed(b, s, i) for b in (0, 1) for s in SPLITS for i in range(200)}
    assert len(seeds) == 2 * 3 * 200
    assert all(0 <= s < 2**63 for s in seeds)


def test_manifest_describes_the_dataset(tiny_dataset):
    m = json.loads((tiny_dataset / "manifest.json").read_text())
    assert m["status"] == "complete" and m["format_version"] == fmt.FORMAT_VERSION
    assert [s["name"] for s in m["shapes"]][:3] == ["cube", "cylinder", "sphere"]
    assert all(len(s["token_faces"]) <= 8 for s in m["shapes"])
    assert m["splits"]["train"]["count"] == 8 and len(m["splits"]["train"]["shards"]) == 2
    assert m["frame_rate"] == 12 and m["frames"] == 25
    for name, (dtype, shape) in ARRAYS.items():
        a = np.load(tiny_dataset / "test" / "shard_00000" / f"{name}.npy")
        assert a.dtype == np.dtype(dtype) and a.shape == (4, *shape)


@pytest.mark.parametrize("bad", [
    dict(n_train=-1), dict(seed=-2), dict(workers=0), dict(shard_size=0),
    dict(shapes="nonsense"), dict(faces_per_object=0), dict(backend="slurm"),
])
def test_bad_arguments_raise_eqscale_error(tmp_path, bad):
    args = {**SMALL, "workers": 1, **bad}
    with pytest.raises(EqscaleError):
        generate_dataset(tmp_path / "x", **args)


def test_other_config_in_existing_folder_is_refused(tmp_path):
    root = generate_dataset(tmp_path / "d", n_train=1, n_val=0, n_test=0, seed=0,
                            faces_per_object=8, progress=False)
    with pytest.raises(DatasetError, match="another config"):
        generate_dataset(root, n_train=1, n_val=0, n_test=0, seed=1, faces_per_object=8,
                         progress=False)


def test_ray_backend_writes_the_same_dataset(tmp_path):
    pytest.importorskip("ray")
    local = generate_dataset(tmp_path / "local", workers=1, **SMALL)
    on_ray = generate_dataset(tmp_path / "ray", workers=2, backend="ray", **SMALL)
    _assert_same(_arrays(local), _arrays(on_ray))
    import ray

    assert not ray.is_initialized()  # the Ray it started is shut down


# Child patch: the parent process writes the shards (``fmt.write_shard``, which hashes each
# array with ``fmt.sha256_file`` right after saving it). The child pauses in the middle of its
# second shard, one array saved: one shard committed, the next half-written in its temp folder.
_KILL_MID_SECOND_SHARD = """
import os

from eqscale.data import format as fmt

real_write, real_hash, writing = fmt.write_shard, fmt.sha256_file, []


def write_shard(split_dir, index, rows):
    writing.append(index)
    return real_write(split_dir, index, rows)


def sha256_file(path):
    digest = real_hash(path)
    if len(writing) == 2:
        pause({"committed": writing[0], "partial": writing[1], "saved": os.path.basename(path)})
    return digest


fmt.write_shard, fmt.sha256_file = write_shard, sha256_file
"""


def test_killed_cli_run_resumes_to_the_same_dataset(tmp_path):
    """SIGKILL a 2-worker ``eqscale generate`` once its first shard is committed and its second
    half-written, rerun the same command, and compare with an uninterrupted run."""
    import subprocess
    import sys

    from tests.killpoint import RUN_CLI, kill_at_pause

    args = ["--train", "16", "--val", "0", "--test", "0", "--seed", "5", "--shard-size", "2",
            "--faces-per-object", "8"]
    out = tmp_path / "killed"
    cmd = ["generate", "--out", str(out), *args]
    info = kill_at_pause(_KILL_MID_SECOND_SHARD + RUN_CLI, [*cmd, "--workers", "2"],
                         timeout=300)
    train = out / "train"
    committed = train / fmt.shard_name(info["committed"])
    assert sorted(p.name for p in train.glob("shard_*")) == [committed.name]
    partial = list(train.glob(f".{fmt.shard_name(info['partial'])}.*.tmp"))
    assert len(partial) == 1 and [p.name for p in partial[0].iterdir()] == [info["saved"]]
    assert json.loads((out / "manifest.json").read_text())["status"] == "generating"
    kept = {p.name: p.stat().st_mtime_ns for p in committed.iterdir()}

    subprocess.run([sys.executable, "-m", "eqscale", *cmd, "--workers", "1"], check=True,
                   capture_output=True, timeout=300)
    reference = generate_dataset(tmp_path / "ref", n_train=16, n_val=0, n_test=0, seed=5,
                                 shard_size=2, faces_per_object=8, progress=False)
    _assert_same(_arrays(reference), _arrays(out))
    assert not list(out.rglob("*.tmp"))  # the half-written shard was cleared away
    assert {p.name: p.stat().st_mtime_ns for p in committed.iterdir()} == kept  # not redone
