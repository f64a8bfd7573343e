"""Checkpoint files: atomic writes, corrupt files, RNG state round trip."""

import json
import random

import numpy as np
import pytest
import torch

from eqscale.atomic import write_json_atomic
from eqscale.errors import CheckpointError
from eqscale.train.checkpoint import (
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)


def test_save_load_round_trip_leaves_no_temp_files(tmp_path):
    state = {"model": {"w": torch.randn(3, 4)}, "step": 7}
    save_checkpoint(tmp_path / "c" / "last.pt", state)
    back = load_checkpoint(tmp_path / "c" / "last.pt")
    assert back["step"] == 7 and torch.equal(back["model"]["w"], state["model"]["w"])
    write_json_atomic(tmp_path / "c" / "r.json", {"a": 1})
    assert json.loads((tmp_path / "c" / "r.json").read_text()) == {"a": 1}
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["last.pt", "r.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"model": {"w": torch.ones(2)}})
    with pytest.raises(Exception, match="pickle"):  # fails half-way through the write
        save_checkpoint(path, {"model": {"w": torch.zeros(2)}, "hook": lambda: 0})
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_corrupt_and_missing_checkpoints_are_one_line_user_errors(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"model": {"w": torch.randn(100)}})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt") as exc:
        load_checkpoint(path)
    assert "\n" not in str(exc.value)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nothing.pt")
    torch.save({"step": 1}, path)
    with pytest.raises(CheckpointError, match="no model weights"):
        load_checkpoint(path)


def test_rng_states_survive_a_save_and_load(tmp_path):
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    save_checkpoint(tmp_path / "s.pt", {"model": {}, "rng": rng_state()})
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(99)
    np.random.seed(99)
    random.seed(99)
    set_rng_state(load_checkpoint(tmp_path / "s.pt")["rng"])
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
    assert got[2] == expected[2]
