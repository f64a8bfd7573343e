"""metrics.jsonl: append, torn lines, cut back on resume; TensorBoard only when installed."""

import json
import sys
import types

from eqscale.train.metrics import MetricsLog, read_metrics


def test_records_append_and_resume_cuts_back_to_the_checkpoint(tmp_path):
    log = MetricsLog(tmp_path)
    for step in range(1, 6):
        log.write({"kind": "train", "step": step, "loss": 1.0 / step})
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"kind": "train", "step": 6, "lo')  # killed mid-line
    assert [r["step"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2, 3, 4, 5]
    log.truncate_after(3)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3]
    log.write({"kind": "val", "step": 4, "val_loss": 0.5})
    assert read_metrics(tmp_path / "metrics.jsonl")[-1] == {"kind": "val", "step": 4,
                                                            "val_loss": 0.5}


def test_a_disabled_log_writes_nothing(tmp_path):
    log = MetricsLog(tmp_path, enabled=False)
    log.write({"kind": "train", "step": 1, "loss": 1.0})
    log.truncate_after(0)
    assert not (tmp_path / "metrics.jsonl").exists()


def test_tensorboard_gets_the_numeric_fields_when_installed(tmp_path, monkeypatch):
    calls = []

    class FakeWriter:
        def __init__(self, log_dir):
            calls.append(("init", log_dir))

        def add_scalar(self, tag, value, step):
            calls.append((tag, value, step))

        def close(self):
            calls.append(("close",))

    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = FakeWriter
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    log = MetricsLog(tmp_path)
    log.write({"kind": "val", "step": 7, "val_loss": 0.25, "improved": True, "note": "x"})
    log.close()
    assert calls == [("init", str(tmp_path / "tb")), ("val/val_loss", 0.25, 7), ("close",)]
