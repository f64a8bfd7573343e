"""The fast-vs-dense benchmark runs end to end (tiny sizes), checks that both paths agree on
its inputs, covers both problems and both thread counts, and writes its JSON atomically."""

from __future__ import annotations

import json

import pytest
import torch

from eqscale.errors import EqscaleError
from eqscale.nn import bench

TINY = (bench.BenchConfig(batch=1, tokens=8, mv_channels=4, s_channels=4, num_heads=2,
                          repeats=1),
        bench.BenchConfig(name="task network", batch=1, tokens=6, mv_channels=4,
                          s_channels=4, num_heads=2, blocks=2, repeats=1))


def test_quick_benchmark_covers_problems_and_threads(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, "QUICK", TINY)
    out = tmp_path / "sub" / "bench.json"
    result = bench.bench_ga(out=str(out), quick=True, device="cpu")
    printed = bench.format_ga_bench(result)
    assert "speed-up" in printed and "dense" in printed and "task network" in printed
    runs = result["runs"]
    threads = bench.thread_counts(torch.device("cpu"))
    assert [(r["problem"], r["threads"]) for r in runs] == [
        (c.name, t) for c in TINY for t in threads]
    for run in runs:
        assert run["max_relative_difference"] < 1e-4  # the two paths compute the same
        assert len(run["fast_all"]) == len(run["dense_all"]) == 1
        assert min(run["fast_all"]) > 0 and min(run["dense_all"]) > 0
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert [p.name for p in out.parent.iterdir()] == ["bench.json"]  # no temp files left


def test_cli_quick_run(tmp_path, capsys, monkeypatch):
    from eqscale.cli import main

    monkeypatch.setattr(bench, "QUICK", TINY[:1])
    assert main(["bench", "ga", "--quick", "--out", str(tmp_path / "b.json")]) == 0
    assert "speed-up" in capsys.readouterr().out


def test_bad_device_is_a_user_error():
    with pytest.raises(EqscaleError, match="device"):
        bench.bench_ga(quick=True, device="nonsense")
