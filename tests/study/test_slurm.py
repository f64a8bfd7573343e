"""The SLURM backend (submitit): the tiny study through submitit's local executor gives the
local backend's table; without SLURM and without the local option it is a one-line refusal."""

import shutil

import pytest

from eqscale.cli import main
from eqscale.errors import EqscaleError
from eqscale.slurm import SlurmBackend, SlurmOptions
from eqscale.study.sweep import run_sweep
from tests.study.helpers import table


def test_tiny_study_on_submitits_local_executor_matches_the_local_backend(
        spec, local_study, tiny_dataset, tmp_path):
    pytest.importorskip("submitit")
    summary = run_sweep(spec, tmp_path, tiny_dataset, backend="slurm", workers=2, threads=1,
                        quiet=True, slurm=SlurmOptions(local=True, time_min=10))
    assert not summary.failed and not summary.crashed and summary.finished
    assert table(tmp_path / "runs.csv") == table(local_study[0] / "runs.csv")
    jobs = [p for p in (tmp_path / "slurm").iterdir() if p.is_dir()]
    assert len(jobs) >= len(summary.finished)  # submitit's per-job folders: logs, results
    logs = list(tmp_path.glob("runs/*/train.log"))
    assert len(logs) == len(summary.finished)  # each job wrote its run's own log
    again = run_sweep(spec, tmp_path, tiny_dataset, backend="slurm", workers=2, threads=1,
                      quiet=True, slurm=SlurmOptions(local=True))
    assert not again.finished and len(again.skipped) == len(summary.finished)  # resumable


def test_a_failing_job_reports_its_traceback(tmp_path):
    pytest.importorskip("submitit")
    import math

    with SlurmBackend(1, 1, SlurmOptions(folder=str(tmp_path), local=True)) as backend:
        outcomes = sorted(backend.map_unordered(math.factorial, [4, -1]), key=lambda o: o.index)
    assert outcomes[0].value == 24 and outcomes[1].error_type == "FailedJobError"
    assert "ValueError" in outcomes[1].traceback


@pytest.mark.skipif(shutil.which("sbatch") is not None, reason="this machine has SLURM")
def test_without_slurm_the_backend_says_so_in_one_line(tmp_path, capsys):
    with pytest.raises(EqscaleError, match="sbatch is not found"):
        SlurmBackend(1, 1, SlurmOptions())
    assert main(["sweep", "run", "--study", "tiny", "--out", str(tmp_path / "s"),
                 "--backend", "slurm"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--slurm-local" in err
    assert not (tmp_path / "s" / "data").exists()  # refused before any work
