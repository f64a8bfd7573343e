"""``--compile``: compiled training follows eager training, and the run records the cost."""

from __future__ import annotations

import pytest
import torch

from eqscale.train.compilation import use_compile
from eqscale.train.loop import run_training
from tests.train.helpers import tiny, train_losses


def test_default_compiles_on_cuda_only():
    assert use_compile(None, torch.device("cuda")) and not use_compile(None, torch.device("cpu"))
    assert use_compile(True, torch.device("cpu")) and not use_compile(False, torch.device("cuda"))


@pytest.mark.slow
def test_compiled_training_matches_eager(tiny_dataset, tmp_path, monkeypatch):
    """20 steps of the transformer, compiled and eager, from the same seed: losses agree to 1e-5
    (float32); the compiled run records its compile time. (GATr's graphs take minutes to
    compile on a CPU; benchmarks/gpu_check.sh compiles both models on a GPU.)"""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    results, losses = {}, {}
    for compiled in (False, True):
        out = tmp_path / f"compiled-{compiled}"
        results[compiled] = run_training(tiny(model="transformer", steps=20, eval_every=10,
                                              compile=compiled), tiny_dataset, out, quiet=True)
        losses[compiled] = train_losses(out)
    assert len(losses[True]) == 20
    torch.testing.assert_close(torch.tensor(losses[True]), torch.tensor(losses[False]),
                               rtol=1e-5, atol=1e-7)
    assert results[True]["compiled"] and results[True]["compile_seconds"] > 0
    assert not results[False]["compiled"] and results[False]["compile_seconds"] is None
