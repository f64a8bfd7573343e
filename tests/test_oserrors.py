"""One-line descriptions of operating-system errors, JSON without NaN, the CLI's catch-all."""

from __future__ import annotations

import errno
import json
import math

import numpy as np
import pytest

from eqscale.cli import main
from eqscale.errors import StorageError
from eqscale.jsonsafe import json_safe
from eqscale.oserrors import describe, ensure_dir, ensure_writable_dir, is_storage_failure


@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, ("no space left", "free some space", "finished work is kept")),
    (errno.EROFS, ("read-only file system", "writable")),
    (errno.EACCES, ("permission denied", "choose a location you can write to")),
    (errno.EFBIG, ("file too large", "ulimit -f")),
    (errno.EMFILE, ("too many open files (limit ", "ulimit -n")),
    (errno.ENOTDIR, ("is a file, not a folder",)),
])
def test_each_errno_names_the_path_and_what_to_do(code, words):
    line = describe(OSError(code, "raw", "/some/where"))
    assert line.startswith("/some/where: ") and "\n" not in line
    for word in words:
        assert word in line
    assert is_storage_failure(OSError(code, "x")) == (code in (errno.ENOSPC, errno.EROFS,
                                                               errno.EFBIG, errno.EMFILE))


def test_an_unknown_errno_keeps_the_system_text():
    assert describe(OSError(errno.EXDEV, "Invalid cross-device link", "a")).startswith(
        "a: Invalid cross-device link; ")


def test_ensure_dir_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(StorageError, match="--out .*f is an existing file, not a folder"):
        ensure_dir(tmp_path / "f")
    with pytest.raises(StorageError, match="a part of this path is a file"):
        ensure_dir(tmp_path / "f" / "sub")
    assert ensure_writable_dir(tmp_path / "new" / "deep").is_dir()
    assert list((tmp_path / "new" / "deep").iterdir()) == []  # the probe file is gone


def test_json_safe_turns_non_finite_numbers_into_null_with_notes():
    out = json_safe({"a": math.nan, "b": [1.0, math.inf], "c": {"d": np.float32("-inf")},
                     "e": 2, "notes": ["kept"]})
    assert out == {"a": None, "b": [1.0, None], "c": {"d": None}, "e": 2,
                   "notes": ["kept", "a was nan; written as null",
                             "b[1] was inf; written as null", "c.d was -inf; written as null"]}
    json.dumps(out, allow_nan=False)
    assert json_safe({"x": 1.5}) == {"x": 1.5}  # nothing to say: no notes key


def test_an_os_error_reaching_the_command_line_is_one_line(tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr("eqscale.data.inspect.inspect_dataset", full)
    assert main(["inspect", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"eqscale: error: {tmp_path / 'x'}: no space")
