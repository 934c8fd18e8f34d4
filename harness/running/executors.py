"""Where cells run: local worker processes or a Dask cluster, behind one interface.

An executor submits a function and returns a :class:`concurrent.futures.Future`; ``after``
submits one that runs once other futures are done — on Dask through the engine's own task
dependencies, locally by chaining the futures' callbacks. Neither polls.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from harness.errors import UserError


def _noop() -> None:
    return None


def _chain(source, target: Future) -> None:
    """Settle ``target`` with ``source``'s outcome (a concurrent or a Dask future)."""
    if source.cancelled():
        target.cancel()
        return
    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())


class LocalExecutor:
    """``jobs`` worker processes, started at once. On Linux they are forked from this process,
    which has imported everything already (create it before starting threads); elsewhere a
    fork server that imports the harness once serves them."""

    def __init__(self, jobs: int) -> None:
        if sys.platform.startswith("linux"):
            ctx = multiprocessing.get_context("fork")
        elif "forkserver" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["harness", "torch", "optuna", "sklearn"])
        else:
            ctx = multiprocessing.get_context("spawn")
        self.capacity = jobs
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)
        self._pool.submit(_noop)  # starts the workers now

    def submit(self, fn: Callable, *args) -> Future:
        return self._pool.submit(fn, *args)

    def after(self, futures: Sequence[Future], fn: Callable, *args) -> Future:
        """``fn(*args)`` submitted once every one of ``futures`` is done (an error in one of
        them becomes this future's error)."""
        out: Future = Future()
        left = [len(futures)]

        def one_done(f: Future) -> None:
            if f.cancelled() or f.exception() is not None:
                if not out.done():
                    _chain(f, out)
                return
            left[0] -= 1
            if left[0] == 0 and not out.done():
                self._pool.submit(fn, *args).add_done_callback(lambda g: _chain(g, out))

        for f in futures:
            f.add_done_callback(one_done)
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _after(fn: Callable, args: tuple, _done: list) -> object:
    """Runs on a Dask worker once the futures in ``_done`` (resolved by Dask) are done."""
    return fn(*args)


class DaskExecutor:
    """Tasks on the Dask cluster at ``scheduler``, as many at once as its workers have threads."""

    def __init__(self, scheduler: str) -> None:
        from distributed import Client

        try:
            self._client = Client(scheduler, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"scheduler: cannot connect to {scheduler!r}: {first}") from None
        self._dask: dict[Future, object] = {}

    @property
    def capacity(self) -> int:
        return max(1, sum(self._client.nthreads().values()))

    def _wrap(self, dask_future) -> Future:
        out: Future = Future()
        self._dask[out] = dask_future
        dask_future.add_done_callback(lambda f: _chain(f, out))
        out.add_done_callback(lambda f: self._dask.pop(f, None))
        return out

    def submit(self, fn: Callable, *args) -> Future:
        return self._wrap(self._client.submit(fn, *args, pure=False))

    def after(self, futures: Sequence[Future], fn: Callable, *args) -> Future:
        """``fn(*args)`` as a Dask task that depends on ``futures``' tasks."""
        deps = [self._dask[f] for f in futures if f in self._dask]
        return self._wrap(self._client.submit(_after, fn, args, deps, pure=False))

    def close(self) -> None:
        for f in list(self._dask.values()):
            f.cancel()
        self._client.close()


def open_executor(kind: str, *, jobs: int = 1, scheduler: str | None = None) -> LocalExecutor | DaskExecutor:
    """The executor the options name."""
    return DaskExecutor(scheduler) if kind == "dask" else LocalExecutor(jobs)
