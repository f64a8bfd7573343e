"""Issue item 5: operating-system errors at the edges are one line ``eqscale: error: ...`` with
exit code 2 that names the path and what to do, and finished work stays intact: ``--out``
naming a file, read-only folders, a full disk, a file-size limit, too many open files,
``--budget inf`` and a run table that is not text."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
from pathlib import Path

import pytest

from eqscale.data import format as fmt
from eqscale.train.metrics import read_metrics
from tests.edges import (
    assert_one_line_error,
    metric_lines,
    read_only_runner,
    run,
    start,
    wait_until,
)

RUNS_CSV = Path(__file__).parent / "scaling" / "data" / "tiny_study_runs.csv"


def _limit(kind: int, value: int):
    def preexec() -> None:
        resource.setrlimit(kind, (value, value))
    return preexec


def _fill(disk: Path) -> Path:
    """Write a file until the file system is full; returns it."""
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def _fill_while_running(args: list, disk: Path, ready, what: str) -> tuple[Path, str]:
    """Start ``eqscale ARGS``, fill ``disk`` once ``ready()``, expect exit code 2 with one
    ``eqscale:`` line and no traceback; returns the filler file and that line."""
    log = disk.parent / "command.log"
    proc = start(*args, log=log)
    try:
        wait_until(ready, 120, what, proc, log)
        filler = _fill(disk)
        assert proc.wait(120) == 2
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text()
    errors = [ln for ln in text.replace("\r", "\n").splitlines() if ln.startswith("eqscale:")]
    assert "Traceback" not in text and len(errors) == 1
    return filler, errors[0]


def _train_args(data, out, steps=4):
    return ["train", "--model", "transformer", "--preset", "tiny", "--steps", steps,
            "--data", data, "--out", out, "--quiet"]


def test_out_naming_an_existing_file(tiny_dataset, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for args in (["generate", "--out", afile, "--train", 1, "--val", 0, "--test", 0],
                 _train_args(tiny_dataset, afile),
                 ["sweep", "run", "--study", "tiny", "--out", afile, "--data", tiny_dataset],
                 ["fit", "--runs", RUNS_CSV, "--out", afile, "--bootstrap", 0]):
        assert_one_line_error(run(*args), f"{afile} is an existing file, not a folder")
    assert afile.read_text() == "not a folder"


def test_read_only_output_folders(tiny_dataset, tmp_path):
    preexec = read_only_runner(tmp_path)
    ro, table = tmp_path / "ro", tmp_path / "ro_table"
    ro.mkdir()
    table.mkdir()
    shutil.copy(RUNS_CSV, table / "runs.csv")
    for folder in (ro, table):
        folder.chmod(0o555)
    try:
        cases = [
            ["generate", "--out", ro / "data", "--train", 1, "--val", 0, "--test", 0],
            ["generate", "--out", ro, "--train", 1, "--val", 0, "--test", 0],
            _train_args(tiny_dataset, ro / "run"),
            ["sweep", "run", "--study", "tiny", "--out", ro, "--data", tiny_dataset],
            ["fit", "--runs", RUNS_CSV, "--out", ro / "fits.json", "--bootstrap", 0],
            ["fit", "--runs", table, "--bootstrap", 0],  # fits.json beside a read-only table
            ["report", "--runs", RUNS_CSV, "--out", ro / "report", "--bootstrap", 0],
            ["render", tiny_dataset, "--out", ro / "t.png"],
        ]
        for args in cases:
            assert_one_line_error(run(*args, preexec_fn=preexec), "permission denied",
                                  "choose a location you can write to")
        assert sorted(os.listdir(ro)) == [] and os.listdir(table) == ["runs.csv"]
    finally:
        for folder in (ro, table):
            folder.chmod(0o755)


def test_file_size_limit_during_generation_keeps_finished_shards(tiny_dataset, tmp_path):
    out = tmp_path / "d"
    args = ["generate", "--out", out, "--train", 4, "--val", 0, "--test", 40,
            "--shard-size", 32, "--faces-per-object", 8]
    done = run(*args, preexec_fn=_limit(resource.RLIMIT_FSIZE, 40_000))
    assert_one_line_error(done, str(out / "test" / "shard_00000"), "file too large",
                          "ulimit -f")
    kept = out / "train" / "shard_00000" / "positions.npy"
    assert fmt.read_shard_entry(out / "train", 0, 4) is not None  # finished work intact
    stamp = kept.stat().st_mtime_ns
    assert not list(out.rglob("*.tmp"))
    assert run(*args).returncode == 0  # without the limit it resumes and completes
    assert kept.stat().st_mtime_ns == stamp
    assert run("inspect", out).returncode == 0


def test_file_size_limit_during_training_then_resume(tiny_dataset, tmp_path):
    out = tmp_path / "run"
    done = run(*_train_args(tiny_dataset, out, steps=30),
               preexec_fn=_limit(resource.RLIMIT_FSIZE, 20_000))
    assert_one_line_error(done, str(out / "checkpoints"), "file too large")
    assert not list((out / "checkpoints").glob(".*.tmp"))  # no half-written checkpoint
    assert run(*_train_args(tiny_dataset, out, steps=30)).returncode == 0
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "train"]
    assert steps == list(range(1, 31))


def test_full_disk_during_generation_keeps_finished_shards(tiny_dataset, small_disk):
    out = small_disk / "d"
    args = ["generate", "--out", out, "--train", 120, "--val", 0, "--test", 0,
            "--shard-size", 4, "--faces-per-object", 8]
    filler, error = _fill_while_running(
        args, small_disk, lambda: (out / "train" / "shard_00001").is_dir(), "two shards")
    assert str(out) in error and "no space left" in error
    assert fmt.read_shard_entry(out / "train", 0, 4) is not None
    assert not list(out.rglob("*.tmp"))
    filler.unlink()
    assert run(*args).returncode == 0
    assert run("inspect", out).returncode == 0


def test_full_disk_during_training_then_resume(tiny_dataset, small_disk):
    out = small_disk / "run"
    filler, error = _fill_while_running(_train_args(tiny_dataset, out, steps=40), small_disk,
                                        lambda: metric_lines(out) >= 3, "training")
    assert str(out) in error and "no space left" in error
    filler.unlink()
    assert run(*_train_args(tiny_dataset, out, steps=40)).returncode == 0
    steps = [r["step"] for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "train"]
    assert steps == list(range(1, 41))


def test_many_shards_train_under_a_low_open_file_limit(tmp_path):
    """Shards are memory-mapped a few at a time: 40 shards of 12 arrays train under 128 open
    files (all mapped at once they needed 480)."""
    data = tmp_path / "many"
    assert run("generate", "--out", data, "--train", 40, "--val", 2, "--test", 2,
               "--shard-size", 1, "--faces-per-object", 8).returncode == 0
    done = run(*_train_args(data, tmp_path / "run"),
               preexec_fn=_limit(resource.RLIMIT_NOFILE, 128))
    assert done.returncode == 0, done.stderr


def test_running_out_of_open_files_is_named_as_such(tiny_dataset, monkeypatch):
    """Should a process still run out of descriptors, the error says so, not 'corrupt'."""
    import numpy as np

    from eqscale.data.format import SplitArrays
    from eqscale.errors import StorageError

    arrays = SplitArrays(tiny_dataset, "train")

    def no_descriptors(*args, **kwargs):
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(np, "load", no_descriptors)
    with pytest.raises(StorageError, match="too many open files") as exc:
        arrays.trajectory(len(arrays) - 1)
    assert "ulimit -n" in str(exc.value) and "corrupt" not in str(exc.value)


def test_infinite_budget_and_a_table_that_is_not_text(tiny_dataset, tmp_path):
    assert_one_line_error(run("train", "--model", "gatr", "--preset", "tiny", "--budget", "inf",
                              "--data", tiny_dataset, "--out", tmp_path / "r"), "finite")
    table = tmp_path / "runs.csv"
    table.write_bytes(b"\xff\xfe\x00\x81 not utf-8 \x9c")
    for command in ("fit", "report"):
        assert_one_line_error(run(command, "--runs", table, "--bootstrap", 0),
                              f"run table {table} is not UTF-8 text")
