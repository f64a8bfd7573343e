"""The SLURM backend: each task a job of a SLURM job array, submitted through submitit.

Same interface as the local and Ray backends (:mod:`eqscale.backends`): ``map_unordered(fn,
items)`` yields an :class:`~eqscale.backends.Outcome` per item as its job ends. The jobs run
``fn(item)`` on the cluster's nodes, which need eqscale installed and the study and data
directories on a shared file system; submitit keeps each job's stdout, stderr and pickled
result under ``folder`` (the study's ``slurm/``), and a training run also writes its own
``train.log``. A sweep is resumable as with any backend: an interrupted one is run again and
skips finished runs. ``local=True`` runs the same jobs through submitit's local executor (each a
subprocess of this machine): how the backend is tested where there is no SLURM.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eqscale.errors import EqscaleError
from eqscale.outcomes import Outcome, failed_outcome

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class SlurmOptions:
    """What each job asks of SLURM; ``local``: run the jobs through submitit's local executor
    on this machine instead (no SLURM needed)."""

    folder: str = "slurm"
    partition: str | None = None
    time_min: int = 120
    local: bool = False


class SlurmBackend:
    """``workers``: jobs of the array running at once; ``threads``: CPUs per job; ``gpus``:
    GPUs per job (default 0)."""

    name = "slurm"

    def __init__(self, workers: int, threads: int, options: SlurmOptions,
                 gpus: float | None = None) -> None:
        if workers < 1:
            raise EqscaleError(f"workers must be at least 1, got {workers}")
        if options.time_min < 1:
            raise EqscaleError(f"--slurm-time must be at least 1 minute, got {options.time_min}")
        if gpus is not None and (gpus < 0 or gpus != int(gpus)):
            raise EqscaleError(f"SLURM jobs take whole GPUs, got --gpus-per-run {gpus}")
        self.workers = workers
        self.threads = threads
        self.gpus = int(gpus or 0)
        self.options = options
        self._executor: Any = None
        if not options.local and shutil.which("sbatch") is None:  # refused before any work
            raise EqscaleError("--backend slurm needs SLURM, and sbatch is not found on this "
                               "machine; run where SLURM is, or add --slurm-local to run the "
                               "jobs here through submitit's local executor")

    def __enter__(self) -> SlurmBackend:
        try:
            import submitit
        except ImportError:
            raise EqscaleError("the slurm backend needs submitit: pip install 'eqscale[slurm]'"
                               ) from None
        folder = Path(self.options.folder) / "%j"
        executor = submitit.AutoExecutor(folder=folder,
                                         cluster="local" if self.options.local else "slurm")
        params: dict[str, Any] = {"timeout_min": self.options.time_min,
                                  "cpus_per_task": self.threads, "gpus_per_node": self.gpus,
                                  "name": "eqscale"}
        if not self.options.local:
            params["slurm_array_parallelism"] = self.workers
            if self.options.partition:
                params["slurm_partition"] = self.options.partition
        executor.update_parameters(**params)
        self._executor = executor
        return self

    def __exit__(self, *exc: object) -> None:
        self._executor = None

    def map_unordered(self, fn: Callable[[Any], Any],
                      items: Sequence[Any]) -> Iterator[Outcome]:
        if self._executor is None:
            raise RuntimeError("use SlurmBackend as a context manager: with make_backend(...)")
        if not items:
            return
        jobs = dict(enumerate(self._executor.map_array(fn, list(items))))
        try:
            while jobs:
                for i, job in list(jobs.items()):
                    if not job.done():
                        continue
                    del jobs[i]
                    try:
                        value = job.result()
                    except Exception as exc:  # the job's own traceback is in the message
                        yield failed_outcome(i, exc)
                    else:
                        yield Outcome(i, value=value)
                if jobs:
                    time.sleep(POLL_SECONDS)
        finally:
            for job in jobs.values():  # the consumer stopped early: cancel what still runs
                job.cancel(check=False)
