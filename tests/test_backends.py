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
    import eqscale.slurm

    below = {"eqscale.errors", "eqscale.procs", "eqscale.outcomes", "eqscale.slurm"}
    for module in (eqscale.backends, eqscale.slurm):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                     for a in n.names}
        ours = {m for m in imported if m and m.startswith("eqscale")}
        assert ours <= below and "eqscale.errors" in ours, module.__name__


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


def _fail_deep(value):
    """A task that fails two calls down, so the traceback has something to show."""
    def inner(v):
        raise ValueError(f"bad value {v}")
    return inner(value)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failed_task_keeps_its_whole_traceback(workers):
    """The error stays one line; the traceback (a pool worker's own included) is kept for the
    run's error record."""
    with make_backend("local", workers=workers, threads=1) as backend:
        outcomes = list(backend.map_unordered(_fail_deep, [7, 8]))
    for o in outcomes:
        assert o.error == f"ValueError: bad value {7 + o.index}" and o.error_type == "ValueError"
        assert "_fail_deep" in o.traceback and "in inner" in o.traceback


def _assigned_gpus(_):
    import os

    import ray

    return [str(g) for g in ray.get_gpu_ids()], os.environ.get("CUDA_VISIBLE_DEVICES")


def test_ray_gives_each_run_the_gpu_it_requested_and_the_run_records_it(tmp_path, tiny_dataset):
    """A local Ray declaring two logical GPUs (no real GPU needed): every task gets exactly one
    and sees it as its CUDA_VISIBLE_DEVICES; a training run executed on it names the GPU in its
    result.json."""
    pytest.importorskip("ray")
    from eqscale.study.runner import RunTask, execute_run
    from eqscale.train.config import make_config

    config = make_config("tiny", model="transformer", steps=2).to_dict()
    task = RunTask("r", config, str(tiny_dataset), str(tmp_path / "run"), threads=1)
    with make_backend("ray", workers=2, threads=1, gpus=1, local_gpus=2) as backend:
        assert backend.gpus == 1
        seen = [o.value for o in backend.map_unordered(_assigned_gpus, range(4))]
        (outcome,) = backend.map_unordered(execute_run, [task])
    for ids, visible in seen:
        assert len(ids) == 1 and ids[0] in ("0", "1") and visible == ids[0]
    assert outcome.ok, outcome.traceback
    where = outcome.value["placement"]
    assert len(where["ray_gpu_ids"]) == 1 and where["cuda_visible_devices"] == where[
        "ray_gpu_ids"][0]
    import torch

    assert outcome.value["device"] == ("cuda" if torch.cuda.is_available() else "cpu")


def test_gpus_per_run_needs_ray():
    with pytest.raises(EqscaleError, match="--gpus-per-run needs --backend ray"):
        make_backend("local", gpus=1)
