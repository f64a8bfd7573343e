"""The GATr block benchmark runs end to end (tiny size) and writes its JSON atomically."""

from __future__ import annotations

import json

import pytest

from eqscale.errors import EqscaleError
from eqscale.nn import bench


def test_quick_benchmark_prints_ratio_and_writes_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, "QUICK", bench.BenchConfig(batch=1, tokens=8, mv_channels=4,
                                                          s_channels=4, num_heads=2, repeats=1))
    out = tmp_path / "sub" / "bench.json"
    result = bench.bench_ga(out=str(out), quick=True, device="cpu")
    printed = capsys.readouterr().out
    assert "speed-up" in printed and "dense reference" in printed
    data = json.loads(out.read_text())
    assert data["speedup"] == pytest.approx(data["dense_seconds"] / data["fast_seconds"])
    assert data["fast_seconds"] > 0 and data["dense_seconds"] > 0
    assert data == json.loads(json.dumps(result))
    assert [p.name for p in out.parent.iterdir()] == ["bench.json"]  # no temp files left


def test_cli_quick_run(tmp_path, capsys):
    from eqscale.cli import main

    assert main(["bench", "ga", "--quick", "--out", str(tmp_path / "b.json")]) == 0
    assert "speed-up" in capsys.readouterr().out


def test_bad_device_is_a_user_error():
    with pytest.raises(EqscaleError, match="device"):
        bench.bench_ga(quick=True, device="nonsense")
