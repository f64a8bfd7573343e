"""Backends run every task, report failures per task, and agree with each other."""

import math

import pytest

from eqscale.backends import make_backend
from eqscale.errors import EqscaleError


def _run(backend, items):
    with backend:
        outcomes = list(backend.map_unordered(math.factorial, items))
    assert sorted(o.index for o in outcomes) == list(range(len(items)))
    return {o.index: (o.value, o.error) for o in outcomes}


@pytest.mark.parametrize("workers", [1, 2])
def test_local_backend_runs_all_and_reports_errors(workers):
    items = [5, -1, 10, 3]  # factorial(-1) raises ValueError
    got = _run(make_backend("local", workers=workers, threads=1), items)
    assert got[0] == (120, None) and got[2] == (3628800, None) and got[3] == (6, None)
    assert got[1][0] is None and got[1][1].startswith("ValueError")


def test_bad_backend_arguments_are_refused():
    with pytest.raises(EqscaleError, match="workers"):
        make_backend("local", workers=0)
    with pytest.raises(EqscaleError, match="unknown backend"):
        make_backend("carrier-pigeon")
    with pytest.raises(EqscaleError, match="slurm"):
        make_backend("slurm")
    with pytest.raises(EqscaleError, match="ray-address"):
        make_backend("local", ray_address="auto")


_STATE: dict = {}


def _remember(value):
    """Pool-worker initializer used by the test below."""
    _STATE["value"] = value


def _read_state(offset):
    return _STATE["value"] + offset


def test_local_pool_runs_the_initializer_in_each_worker():
    backend = make_backend("local", workers=2, threads=1, initializer=_remember,
                           initargs=(100,))
    with backend:
        got = sorted((o.index, o.value) for o in backend.map_unordered(_read_state, [1, 2, 3]))
    assert got == [(0, 101), (1, 102), (2, 103)]
    assert "value" not in _STATE  # the initializer ran in the workers, not in this process


def test_the_backends_import_nothing_of_study_or_data():
    import ast
    from pathlib import Path

    import eqscale.backends

    tree = ast.parse(Path(eqscale.backends.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    ours = {m for m in imported if m and m.startswith("eqscale")}
    assert ours <= {"eqscale.errors", "eqscale.procs"} and "eqscale.errors" in ours


def test_default_threads_leave_busy_cores_alone(monkeypatch):
    """Threads per task: the free cores (usable minus the load of other processes) shared
    among the workers, never below one."""
    from eqscale import backends

    monkeypatch.setattr(backends, "usable_cores", lambda: 8)
    monkeypatch.setattr(backends.os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert backends.default_threads(1) == 8 and backends.default_threads(2) == 4
    assert backends.make_backend("local", workers=4).threads == 2
    monkeypatch.setattr(backends.os, "getloadavg", lambda: (5.6, 0.0, 0.0))
    assert backends.free_cores() == 2 and backends.default_threads(1) == 2
    assert backends.default_threads(3) == 1
    monkeypatch.setattr(backends.os, "getloadavg", lambda: (40.0, 0.0, 0.0))
    assert backends.free_cores() == 1
