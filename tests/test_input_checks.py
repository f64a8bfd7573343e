"""Issue item 6: values that used to be accepted but wrong. Tiny face budgets never leave a
shape without faces; a dataset that has one is refused; ``fit`` refuses duplicated run ids and
torn rows; budgets must be finite and within the step window; a huge ``--train`` is refused or
shows progress at once, without growing memory first."""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from eqscale.data import generate
from eqscale.data.shapes import load_shape_set
from eqscale.errors import StorageError
from tests.edges import assert_one_line_error, run, start

RUNS_CSV = Path(__file__).parent / "scaling" / "data" / "tiny_study_runs.csv"


@pytest.mark.parametrize("faces", [1, 2, 3])
def test_tiny_face_budgets_leave_every_shape_a_face(tiny_dataset, faces):
    shapes = load_shape_set("procedural", faces).shapes
    assert all(1 <= len(s.token_faces) <= faces for s in shapes), [
        (s.name, len(s.token_faces)) for s in shapes]


def test_one_face_per_object_generates_inspects_and_trains(tiny_dataset, tmp_path):
    data = tmp_path / "one"
    assert run("generate", "--out", data, "--train", 4, "--val", 2, "--test", 2,
               "--faces-per-object", 1).returncode == 0
    assert run("inspect", data).returncode == 0
    manifest = json.loads((data / "manifest.json").read_text())
    assert all(len(s["token_faces"]) == 1 for s in manifest["shapes"])
    done = run("train", "--model", "transformer", "--preset", "tiny", "--steps", 2,
               "--data", data, "--out", tmp_path / "run", "--quiet")
    assert done.returncode == 0, done.stderr


def test_a_dataset_with_a_faceless_shape_is_refused(tiny_dataset, tmp_path):
    data = shutil.copytree(tiny_dataset, tmp_path / "old")
    manifest = json.loads((data / "manifest.json").read_text())
    manifest["shapes"][4]["token_faces"] = []  # what an older eqscale wrote for --faces 1..3
    (data / "manifest.json").write_text(json.dumps(manifest))
    name = manifest["shapes"][4]["name"]
    assert_one_line_error(run("inspect", data), f"shape {name!r} has no token faces",
                          "--faces-per-object")
    assert_one_line_error(run("train", "--model", "gatr", "--preset", "tiny", "--data", data,
                              "--out", tmp_path / "run"), f"shape {name!r} has no token faces")


def test_fit_refuses_duplicated_run_ids_and_a_torn_last_row(tmp_path):
    header, *rows = RUNS_CSV.read_text().splitlines(keepends=True)
    doubled = tmp_path / "doubled.csv"
    doubled.write_text(header + "".join(rows) + "".join(rows))
    rid = rows[0].split(",")[1]
    assert_one_line_error(run("fit", "--runs", doubled, "--bootstrap", 0),
                          f"run id {rid!r} appears twice", f"rows 2 and {len(rows) + 2}")
    torn = tmp_path / "torn.csv"
    torn.write_text(header + "".join(rows)[:-40])  # the writer was cut in its last row
    assert_one_line_error(run("fit", "--runs", torn, "--bootstrap", 0), "torn")
    cut = tmp_path / "cut.csv"  # cut inside its last field: the field count still matches
    cut.write_text(header + "".join(rows).rstrip("\n")[:-1])
    assert_one_line_error(run("report", "--runs", cut, "--bootstrap", 0), "torn")


def test_budgets_must_be_finite_and_within_the_step_window(tiny_dataset, tmp_path):
    base = ["train", "--model", "gatr", "--preset", "tiny", "--data", tiny_dataset]
    assert_one_line_error(run(*base, "--budget", "1e300", "--out", tmp_path / "a"),
                          "more than the 1e+09 a run may take")
    assert not (tmp_path / "a" / "metrics.jsonl").exists()
    from eqscale.study.presets import PRESETS

    spec = PRESETS["tiny"].to_dict()
    spec["compute"]["budgets"] = [float("inf")]
    (tmp_path / "inf.json").write_text(json.dumps(spec))  # JSON of Python: Infinity
    assert_one_line_error(run("sweep", "plan", "--study", tmp_path / "inf.json", "--out",
                              tmp_path / "s"), "finite")
    spec["compute"]["budgets"] = [1e300]
    (tmp_path / "huge.json").write_text(json.dumps(spec))
    assert_one_line_error(run("sweep", "plan", "--study", tmp_path / "huge.json", "--out",
                              tmp_path / "s"), "impossible", "1e+300")


def test_a_huge_train_count_is_refused_or_shows_progress_at_once(tiny_dataset, tmp_path):
    assert_one_line_error(run("generate", "--out", tmp_path / "x", "--train", 10**9),
                          "--train 1000000000 is more than the 10,000,000 trajectories")
    log = tmp_path / "big.log"
    proc = start("generate", "--out", tmp_path / "big", "--train", 10**6, "--val", 0,
                 "--test", 0, "--faces-per-object", 8, log=log)
    try:
        deadline, done = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            bars = [ln for ln in log.read_text().replace("\r", "\n").splitlines()
                    if "traj" in ln and "/1000000" in ln and not ln.split("|")[-1].startswith(
                        " 0/")]
            if bars:
                done = "progress"
                rss = _rss_bytes(proc.pid)
                assert rss < 1.5e9, f"{rss / 1e9:.2f} GB before the first shard"
                break
            time.sleep(0.1)
        if done is None:  # refused at once: not enough disk for 7 GB
            assert proc.wait(5) == 2 and "are free there" in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_a_dataset_larger_than_the_free_space_is_refused_up_front(tiny_dataset, tmp_path,
                                                                  monkeypatch):
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(generate.shutil, "disk_usage", lambda p: usage(10**9, 10**9, 10**6))
    with pytest.raises(StorageError, match="need about .* but only 0.001 GB are free"):
        generate.generate_dataset(tmp_path / "d", n_train=1000, n_val=0, n_test=0,
                                  faces_per_object=8, progress=False)
    assert not list((tmp_path / "d").glob("*/shard_*"))
