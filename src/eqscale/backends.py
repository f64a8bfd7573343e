"""Execution backends: run independent tasks and report each outcome as soon as it is done.

A task is a picklable module-level function applied to one picklable item. ``local`` runs them
in-process (``workers == 1``) or in a pool of fresh ``spawn`` processes; ``ray`` runs each as a
Ray task on a local Ray instance (default) or on a cluster given its address. The same
abstraction serves training sweeps (``eqscale.study``) and sharded data generation
(``eqscale.data.generate``); it sits below both and imports nothing of eqscale but ``errors``::

    with make_backend("ray", workers=4) as backend:
        for outcome in backend.map_unordered(simulate_shard, shards):
            ...

A task that raises is reported as an :class:`Outcome` with ``error`` set; it does not stop the
others. ``KeyboardInterrupt`` (and SIGTERM, see :mod:`eqscale.procs`) cancels what has not
started, stops the workers and propagates. Outcomes arrive in completion order; a caller that
needs task order sorts by ``Outcome.index``. Tasks are submitted a few at a time as workers free
up, so millions of items cost no memory up front. Pool workers die with the process that
started them (:func:`eqscale.procs.bind_to_parent`): a killed driver leaves no orphans.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from eqscale.errors import EqscaleError
from eqscale.outcomes import Outcome, error_line, failed_outcome
from eqscale.procs import bind_to_parent

BACKENDS = ("local", "ray", "slurm")
__all__ = ["BACKENDS", "LocalBackend", "Outcome", "RayBackend", "make_backend"]
POOL_AHEAD = 2  # tasks queued per pool worker beyond the one it runs
RAY_WINDOW = 10_000  # Ray tasks in flight at once (a cluster schedules them itself)


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    """``fn(item)``: a plain Python function Ray can wrap whatever ``fn`` is (builtins too)."""
    return fn(item)


def _start_worker(parent: int, threads: int, initializer: Callable[..., None] | None,
                  initargs: tuple) -> None:
    """Pool-worker start: die with the ``parent`` process, cap math-library threads before the
    task imports torch/numpy, then run the caller's ``initializer(*initargs)`` (e.g. to install
    state shipped by the parent)."""
    bind_to_parent(parent)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if initializer is not None:
        initializer(*initargs)


class LocalBackend:
    """In-process for one worker, else a process pool (``spawn``: no inherited torch state).

    ``initializer(*initargs)`` runs once in each pool worker (not in-process: the caller sets
    up its own process); ``initargs`` are pickled to every worker once, not with every task.
    """

    name = "local"

    def __init__(self, workers: int = 1, threads: int = 1,
                 initializer: Callable[..., None] | None = None, initargs: tuple = ()) -> None:
        if workers < 1:
            raise EqscaleError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self.threads = threads
        self.initializer = initializer
        self.initargs = tuple(initargs)

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        if self.workers == 1 or len(items) <= 1:
            yield from self._in_process(fn, items)
        else:
            yield from self._pool(fn, items)

    @staticmethod
    def _in_process(fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        for i, item in enumerate(items):
            try:
                value = fn(item)
            except Exception as exc:  # a failed task is reported, the others still run
                if not isinstance(exc, EqscaleError):  # user errors are one line, no traceback
                    traceback.print_exc()
                yield failed_outcome(i, exc)
            else:
                yield Outcome(i, value=value)

    def _pool(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        workers = min(self.workers, len(items))
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(), self.threads, self.initializer, self.initargs),
        )
        died = "worker process died (killed or crashed)"
        pending: dict[Any, int] = {}
        following = 0  # the next item to submit
        completed = False
        try:
            while following < len(items) or pending:
                while following < len(items) and len(pending) < workers * (1 + POOL_AHEAD):
                    try:
                        pending[pool.submit(fn, items[following])] = following
                    except BrokenProcessPool:
                        yield Outcome(following, error=died, error_type="BrokenProcessPool")
                    following += 1
                if not pending:
                    continue
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    index = pending.pop(fut)
                    try:
                        value = fut.result()
                    except BrokenProcessPool:
                        yield Outcome(index, error=died, error_type="BrokenProcessPool")
                    except Exception as exc:
                        yield failed_outcome(index, exc)
                    else:
                        yield Outcome(index, value=value)
            completed = True
        finally:
            if not completed:  # interrupted or abandoned: stop the tasks that are running
                _stop_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool: Any) -> None:
    """Terminate a process pool's workers now (SIGTERM, then SIGKILL after 5 s)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + 5
    for proc in processes:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(1)


class RayBackend:
    """Each task a Ray task of ``threads`` CPUs and ``gpus`` GPUs; starts (and stops) a local
    Ray if none is up.

    ``address`` connects to a running cluster (``ray start --head`` / ``"auto"``); every node
    then needs eqscale installed and the data directory on a shared file system. A local Ray
    gets ``workers x threads`` CPUs, ``local_gpus`` GPUs (default: those Ray detects; a number
    declares logical ones, e.g. to test placement without a GPU) and an object store of
    ``object_store_mb`` (``None``: Ray's default, for tasks that return arrays). ``gpus=None``
    asks one GPU per task when the cluster has GPUs, else none. Ray gives each task its GPUs
    in ``CUDA_VISIBLE_DEVICES``, so the task's ``cuda`` device is the one assigned to it.
    """

    name = "ray"

    def __init__(self, workers: int = 1, threads: int = 1, address: str | None = None,
                 object_store_mb: int | None = 128, gpus: float | None = None,
                 local_gpus: int | None = None) -> None:
        if workers < 1:
            raise EqscaleError(f"workers must be at least 1, got {workers}")
        if gpus is not None and gpus < 0:
            raise EqscaleError(f"GPUs per run must be >= 0, got {gpus}")
        self.workers = workers
        self.threads = threads
        self.address = address
        self.object_store_mb = object_store_mb
        self.gpus = gpus
        self.local_gpus = local_gpus
        self._started = False

    def __enter__(self) -> RayBackend:
        try:
            import ray
        except ImportError:
            raise EqscaleError(
                "the ray backend needs Ray: pip install 'eqscale[ray]'"
            ) from None
        if not ray.is_initialized():
            common: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                          configure_logging=False)
            try:
                if self.address:
                    ray.init(address=self.address, **common)
                else:
                    # Small footprint: tasks return only small dicts, data stays on disk.
                    if self.object_store_mb is not None:
                        common["object_store_memory"] = self.object_store_mb * 1024**2
                    if self.local_gpus is not None:
                        common["num_gpus"] = self.local_gpus
                    ray.init(num_cpus=self.workers * self.threads, **common)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise EqscaleError(f"cannot start or reach Ray ({self.address or 'local'}): "
                                   f"{error_line(exc)}") from None
            self._started = True
        if self.gpus is None:
            self.gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        import ray

        if not ray.is_initialized():
            raise RuntimeError("use RayBackend as a context manager: with make_backend(...)")
        # Ray sets OMP_NUM_THREADS to a task's num_cpus in its workers.
        remote = ray.remote(num_cpus=self.threads, num_gpus=self.gpus or 0, max_retries=1)(_apply)
        index: dict[Any, int] = {}
        pending: list[Any] = []
        following = 0
        try:
            while following < len(items) or pending:
                while following < len(items) and len(pending) < RAY_WINDOW:
                    ref = remote.remote(fn, items[following])
                    index[ref] = following
                    pending.append(ref)
                    following += 1
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    i = index.pop(ref)
                    try:
                        value = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        yield failed_outcome(i, exc.cause or exc)
                    except ray.exceptions.RayError as exc:
                        yield failed_outcome(i, exc)
                    else:
                        yield Outcome(i, value=value)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def free_cores() -> int:
    """Usable cores not already kept busy by other processes (the 1-minute load average,
    rounded), at least 1. Threads beyond this count wait on busy cores: the GATr fast path's
    many small parallel kernels then ran several times slower than on one thread."""
    cores = usable_cores()
    try:
        busy = round(os.getloadavg()[0])
    except OSError:
        busy = 0
    return max(1, cores - min(busy, cores - 1))


def default_threads(workers: int = 1) -> int:
    """Threads per task for ``workers`` parallel tasks: the free cores shared among them."""
    return max(1, free_cores() // max(1, workers))


def make_backend(name: str, workers: int = 1, threads: int | None = None,
                 ray_address: str | None = None, *,
                 initializer: Callable[..., None] | None = None, initargs: tuple = (),
                 object_store_mb: int | None = 128, gpus: float | None = None,
                 local_gpus: int | None = None,
                 slurm: Any = None) -> LocalBackend | RayBackend | Any:
    """Backend by name; ``threads`` per task defaults to :func:`default_threads` (the free cores
    divided among the workers, so that tasks do not oversubscribe a loaded machine).

    ``initializer``/``initargs`` apply to local pool workers only (a Ray task sets up what it
    needs itself); ``object_store_mb`` and ``local_gpus`` to a local Ray only; ``gpus`` (per
    task) to Ray and SLURM; ``slurm`` (:class:`eqscale.slurm.SlurmOptions`) to SLURM only.
    """
    if workers < 1:
        raise EqscaleError(f"workers must be at least 1, got {workers}")
    if threads is None:
        threads = default_threads(workers)
    if name == "local":
        if ray_address:
            raise EqscaleError("--ray-address needs --backend ray")
        if gpus:
            raise EqscaleError("--gpus-per-run needs --backend ray or slurm (the local backend "
                               "runs on this machine's devices as --device says)")
        return LocalBackend(workers, threads, initializer, initargs)
    if name == "ray":
        return RayBackend(workers, threads, ray_address, object_store_mb, gpus, local_gpus)
    if name == "slurm":
        from eqscale.slurm import SlurmBackend, SlurmOptions

        return SlurmBackend(workers, threads, slurm or SlurmOptions(), gpus)
    raise EqscaleError(f"unknown backend {name!r}; choose one of {BACKENDS}")
