"""Issue item 3: bad data is never used silently. ``train``, ``evaluate`` and ``sweep`` verify
the manifest's checksums (once, cached) and refuse non-finite values naming the file; a run
that fails exits 1 and names the data when the data is the cause; ``evaluate --json`` is always
valid JSON."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from eqscale.data import verify
from eqscale.errors import DatasetError
from eqscale.train.loop import run_training
from tests.edges import assert_one_line_error, flip_byte, rewrite_array, run
from tests.train.helpers import tiny


def _strict_json(text: str):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def trained(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained") / "run"
    run_training(tiny(model="transformer", steps=4, eval_every=2), tiny_dataset, out,
                 quiet=True)
    return out


@pytest.fixture()
def copy(tiny_dataset, tmp_path):
    return shutil.copytree(tiny_dataset, tmp_path / "data")


def _train(data, out, *extra):
    return run("train", "--model", "transformer", "--preset", "tiny", "--steps", 4,
               "--data", data, "--out", out, "--quiet", *extra)


def test_flipped_bytes_are_refused_by_train_evaluate_and_sweep(copy, trained, tmp_path):
    victim = copy / "train" / "shard_00001" / "positions.npy"
    flip_byte(victim)
    assert_one_line_error(_train(copy, tmp_path / "run"), str(victim), "checksum mismatch")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # refused before training
    test_file = copy / "test" / "shard_00000" / "quaternions.npy"
    flip_byte(test_file)
    assert_one_line_error(run("evaluate", "--run", trained, "--data", copy, "--json"),
                          str(test_file), "checksum mismatch")
    out = tmp_path / "study"
    assert_one_line_error(run("sweep", "run", "--study", "tiny", "--out", out, "--data", copy),
                          "checksum mismatch")
    assert not (out / "runs").exists()  # no run started on bad data


def test_nan_in_a_test_shard_is_refused_by_evaluate_naming_the_file(copy, trained):
    rel = "test/shard_00000/positions.npy"
    bad = np.load(copy / rel)
    bad[0, 0, 5] = np.nan
    path = rewrite_array(copy, rel, bad)  # checksums updated: only the values are wrong
    done = run("evaluate", "--run", trained, "--data", copy, "--json")
    assert_one_line_error(done, str(path), "NaN or infinite")
    assert done.stdout.strip() == ""


def test_nan_in_the_training_data_is_refused_by_train_naming_the_file(copy, tmp_path):
    rel = "train/shard_00000/scale.npy"
    bad = np.load(copy / rel)
    bad[1, 0] = np.inf
    path = rewrite_array(copy, rel, bad)
    assert_one_line_error(_train(copy, tmp_path / "run"), str(path), "NaN or infinite")


def test_a_failed_run_exits_1_and_names_the_data_when_it_is_the_cause(copy, tmp_path):
    for shard in ("shard_00000", "shard_00001"):  # finite, but nothing physical: 1e30 m
        rel = f"train/{shard}/positions.npy"
        rewrite_array(copy, rel, np.load(copy / rel) * np.float32(1e30))
    done = _train(copy, tmp_path / "run")
    line = assert_one_line_error(done, "failed: non-finite training loss", "the data is the cause",
                                 str(copy / "train" / "shard_0000"), code=1)
    assert "at step 1" in line
    result = _strict_json((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "failed" and "the data is the cause" in result["reason"]


def test_evaluate_json_is_valid_json_when_numbers_are_not_finite(tiny_dataset, trained,
                                                                 tmp_path):
    broken = shutil.copytree(trained, tmp_path / "run")
    best = broken / "checkpoints" / "best.pt"
    state = torch.load(best, weights_only=True)
    state["model"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                      for k, v in state["model"].items()}
    torch.save(state, best)
    done = run("evaluate", "--run", broken, "--data", tiny_dataset, "--json")
    assert done.returncode == 0, done.stderr
    out = _strict_json(done.stdout)
    assert out["test_loss"] is None and out["rollout_error"] is None
    assert any(note.startswith("test_loss was nan; written as null") for note in out["notes"])


def test_verification_is_cached_until_a_file_changes(copy, tmp_path, monkeypatch):
    monkeypatch.setenv("EQSCALE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(verify, "SETTLE_SECONDS", -1.0)  # the copy is brand new
    hashed = []
    real = verify.sha256_file
    monkeypatch.setattr(verify, "sha256_file", lambda p: hashed.append(p) or real(p))
    verify.verify_dataset(copy)
    n_files = sum(1 for _ in copy.rglob("*.npy"))
    assert len(hashed) == n_files
    hashed.clear()
    verify.verify_dataset(copy)
    assert hashed == []  # nothing read again: size, times and inode unchanged
    victim = copy / "val" / "shard_00000" / "mass.npy"
    flip_byte(victim)
    with pytest.raises(DatasetError, match="checksum mismatch"):
        verify.verify_dataset(copy)
    assert hashed == [victim]
