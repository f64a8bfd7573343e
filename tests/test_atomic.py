"""eqscale.atomic: whole targets, untouched old files on failure, no temp files left behind."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from eqscale.atomic import atomic_path, write_bytes_atomic, write_json_atomic, write_text_atomic


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_target_appears_whole_and_alone(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.bin.")
        assert tmp.name.endswith(".tmp")
        tmp.write_bytes(b"abc")
        assert not target.exists()  # not visible before the block ends
    assert target.read_bytes() == b"abc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_replaces_an_existing_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_exception_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "keep.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["keep.json"]


def test_exception_without_old_file_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "x") as tmp:
        tmp.write_text("partial")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_creates_parent_folders(tmp_path):
    target = tmp_path / "a" / "b" / "c.bin"
    write_bytes_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_permissions_follow_the_umask(tmp_path):
    target = tmp_path / "perm.txt"
    write_text_atomic(target, "x")
    assert _mode(target) == 0o666 & ~_umask()
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert _mode(target) == _mode(plain)  # as an ordinary open() would make it


def test_permissions_with_a_strict_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_text_atomic(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "private.txt") == 0o600


def test_suffix_for_writers_that_append_one(tmp_path):
    np = pytest.importorskip("numpy")
    target = tmp_path / "arr.npy"
    with atomic_path(target, suffix=".npy") as tmp:
        assert tmp.name.endswith(".npy")
        np.save(tmp, np.arange(3))
    assert np.load(target).tolist() == [0, 1, 2]
    assert os.listdir(tmp_path) == ["arr.npy"]


def test_write_json_atomic_formats_and_keeps_files_json(tmp_path):
    """Indent and key order as asked; non-finite numbers become null (strict JSON), noted in a
    dict's ``notes`` unless told not to; numpy scalars and keys become plain numbers."""
    np = pytest.importorskip("numpy")
    target = tmp_path / "d.json"
    write_json_atomic(target, {"b": 1, "a": (1, 2)}, indent=2, sort_keys=True)
    assert target.read_text() == json.dumps({"a": [1, 2], "b": 1}, indent=2) + "\n"
    write_json_atomic(target, {"x": float("nan"), "y": [np.float32(1.5), float("-inf")]})
    back = json.loads(target.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert back["x"] is None and back["y"] == [1.5, None] and len(back["notes"]) == 2
    write_json_atomic(target, {np.int64(3): float("inf")}, note_non_finite=False)
    assert json.loads(target.read_text()) == {"3": None}
    assert os.listdir(tmp_path) == ["d.json"]


def test_every_write_is_synced_before_it_becomes_visible(tmp_path, monkeypatch):
    """The temp file is fsync'ed before the rename: a crash right after cannot leave an empty
    file in place of the data."""
    import eqscale.atomic as atomic

    events = []
    real_fsync, real_replace = atomic.os.fsync, atomic.os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(atomic.os, "replace",
                        lambda a, b: (events.append("replace"), real_replace(a, b)))
    write_json_atomic(tmp_path / "r.json", {"a": 1})
    write_text_atomic(tmp_path / "t.txt", "x")
    assert events == ["fsync", "replace", "fsync", "replace"]


def test_imports_nothing_heavy():
    """The scaling layer uses it and must not import torch; of eqscale it imports only the
    (equally light) JSON cleaner."""
    code = (
        "import sys, eqscale.atomic; "
        "bad = [m for m in ('torch', 'numpy') if m in sys.modules]; "
        "ours = [m for m in sys.modules if m.startswith('eqscale.') "
        "and m not in ('eqscale.atomic', 'eqscale.jsonsafe')]; "
        "print(bad, ours); assert not bad and not ours"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
