"""A paper-scale layout in miniature: a split of 200 shards is verified, inspected and read
whole by a process allowed 64 open files (shards are memory-mapped a few at a time)."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from eqscale.data.generate import generate_dataset

READ_ALL = """
import sys

import numpy as np
import torch

from eqscale.data.dataset import SceneDataset
from eqscale.data.inspect import inspect_dataset
from eqscale.data.verify import verify_dataset

root = sys.argv[1]
verify_dataset(root)
inspect_dataset(root)
data = SceneDataset(root, "train")
assert data.arrays.n_shards == 200
loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True,
                                     generator=torch.Generator().manual_seed(0))
seen = sum(len(batch["face_mask"]) for batch in loader)
assert seen == len(data), (seen, len(data))
assert data.arrays.array("seed").shape == (200,)
assert len(data.arrays._mapped) <= data.arrays.open_shards
print("read", seen)
"""


def _limit_open_files(limit: int = 64) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), hard))


@pytest.mark.timeout(600)
def test_a_split_of_200_shards_reads_under_64_open_files(tmp_path):
    root = tmp_path / "data"
    generate_dataset(root, n_train=200, n_val=1, n_test=1, seed=5, faces_per_object=4,
                     shard_size=1, progress=False)
    proc = subprocess.run([sys.executable, "-c", READ_ALL, str(root)], capture_output=True,
                          text=True, timeout=600, preexec_fn=_limit_open_files)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "read" in proc.stdout
