"""Disk footprint and ``eqscale generate --dry-run``: the plan matches what generation makes."""

from __future__ import annotations

from eqscale.cli import main
from eqscale.data.footprint import dataset_bytes, trajectory_bytes


def test_footprint_bounds_the_arrays_generation_writes(tiny_dataset):
    """tiny_dataset: 16 trajectories in 4 shards. The .npy files hold exactly the arrays plus
    their headers, which the per-shard allowance covers."""
    arrays = sum(p.stat().st_size for p in tiny_dataset.rglob("*.npy"))
    assert 16 * trajectory_bytes() < arrays <= dataset_bytes(16, 4)


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["generate", "--out", str(out), "--train", "100", "--val", "10", "--test", "7",
                 "--shard-size", "32", "--workers", "2", "--faces-per-object", "8",
                 "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "train  100 trajectories in 4 shards" in text
    assert "test   7 trajectories in 1 shards" in text
    assert f"about {dataset_bytes(117, 6) / 1e9:.3g} GB" in text and "with 2 worker(s)" in text
    assert not out.exists()
    assert main(["generate", "--out", str(out), "--train", "-1", "--dry-run"]) == 2
