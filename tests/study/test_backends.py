"""Backends run every task, report failures per task, and agree with each other."""

import math

import pytest

from eqscale.errors import EqscaleError
from eqscale.study.backends import make_backend


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
