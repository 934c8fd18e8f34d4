"""Run a whole benchmark: validate the plan, run every cell, track, store and summarise."""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pandas as pd
import torch
from tqdm import tqdm

import datasets

from . import plots
from . import results as results_store
from .cells import Cell, expand
from .errors import UserError
from .ledger import Ledger
from .pipeline import (
    CellResult,
    DataProvider,
    close_stale,
    open_study,
    run_cell,
    study_name,
    tune,
)
from .spec import Spec
from .tracking import MlflowTracker, NullTracker


@dataclass
class Outcome:
    """What a benchmark run produced."""

    table: pd.DataFrame
    results_csv: Path
    cells: list[CellResult]
    failed: list[CellResult] = field(default_factory=list)
    seconds: float = 0.0
    tracking_seconds: float = 0.0  # the run waited for MLflow
    tracking_call_seconds: float = 0.0  # inside MLflow calls, mostly overlapped in a background thread
    optuna_seconds: float = 0.0  # in Optuna itself


def check_plan(spec: Spec, data: DataProvider) -> dict[tuple[str, object], str]:
    """Prepare every (dataset, ratio) before any work, so data errors stop the run early.

    Returns the (dataset key, ratio) pairs to skip, with the reason, when the spec says
    ``unreachable_ratio: skip``; otherwise the first data error stops the run.
    """
    if spec.training.device == "cuda" and not torch.cuda.is_available():
        raise UserError("training.device: 'cuda', but torch sees no CUDA device here (use 'auto' or 'cpu')")
    skipped = {}
    for ds in spec.datasets:
        for ratio in spec.imbalance_ratios:
            try:
                prepared = data.prepared(ds, ratio, 0)
                if prepared.n_classes != 2:
                    raise UserError(f"{ds.key}: has {prepared.n_classes} classes; the benchmark pipeline trains "
                                    "binary problems (use LossClassifier or loss_zoo for multi-class)")
            except datasets.DataError as exc:
                if spec.unreachable_ratio == "skip" and "largest reachable ratio" in str(exc):
                    skipped[(ds.key, ratio)] = str(exc)
                    continue
                raise UserError(str(exc)) from None
    return skipped


def open_storage(url: str | None, journal: Path | None):
    """An Optuna storage: None for "memory", the journal file by default (or the one named by
    ``journal:PATH``), else the database at the SQLAlchemy URL."""
    if url == "memory":
        return None
    if url is not None and url.startswith("journal:"):
        url, journal = None, Path(url.removeprefix("journal:"))
    if url is None:
        from optuna.storages.journal import JournalFileBackend

        journal.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(journal)))
    for attempt in range(3):
        try:
            return optuna.storages.get_storage(url)
        except Exception as exc:  # SQLAlchemy and Optuna raise many types for a bad URL
            # workers opening a fresh database at once race to create Optuna's tables: try again
            if attempt < 2 and ("already exists" in str(exc) or "duplicate key" in str(exc)):
                time.sleep(0.5 * (attempt + 1))
                continue
            raise UserError(f"storage: cannot open {url!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _write_cell_outputs(spec: Spec, result: CellResult, out_dir: Path) -> list[Path]:
    """Predictions (Parquet) and figures of one cell; their paths, for MLflow."""
    if not result.repetitions:
        return []
    artifacts = [results_store.write_predictions(result, out_dir / "predictions")]
    if spec.evaluation.plots:
        slug = results_store.cell_slug(result)
        artifacts.append(plots.cell_figure(result, out_dir / "plots" / f"{slug}.png"))
        artifacts.append(plots.tuning_figure(result, out_dir / "plots" / f"{slug}_tuning.png", spec.tuning.metrics[0]))
    return [a for a in artifacts if a is not None]


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs to run cells of one benchmark (sent with every task)."""

    spec: Spec
    threads: int
    storage: str | None
    journal: Path
    out_dir: Path
    write_outputs: bool  # False on a cluster: the driver writes predictions and figures

    @property
    def key(self) -> tuple:
        return (self.spec.spec_hash(), self.threads, self.storage, str(self.journal))


_WORKER: dict = {}
_WORKER_LOCK = threading.Lock()  # a Dask worker with several threads still runs one cell at a time


def _worker_state(config: WorkerConfig) -> dict:
    """Per worker process, kept across tasks: its data cache and storage; torch single-threaded
    and deterministic, as in a local run (so the results are identical)."""
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    if _WORKER.get("key") != config.key:
        _WORKER.clear()
        _WORKER.update(key=config.key, data=DataProvider(config.spec),
                       storage=open_storage(config.storage, config.journal))
    return _WORKER


def _worker_cell(config: WorkerConfig, cell: Cell) -> tuple[CellResult, list[Path] | None]:
    with _WORKER_LOCK:
        state = _worker_state(config)
        result = run_cell(config.spec, cell, state["data"], storage=state["storage"])
        return result, _write_cell_outputs(config.spec, result, config.out_dir) if config.write_outputs else None


def _worker_tune(config: WorkerConfig, cell: Cell, worker: int) -> int:
    """Worker ``worker`` of several sharing the cell's studies; returns the trials it ran."""
    with _WORKER_LOCK:
        state, spec = _worker_state(config), config.spec
        method, ran = spec.method(cell.method), 0
        for rep in range(spec.evaluation.repetitions if spec.tuning.per_repetition else 1):
            prepared = state["data"].prepared(cell.dataset, cell.ratio, rep)
            study, _ = tune(spec, cell, method, prepared, repetition=rep, storage=state["storage"], shared=worker)
            ran += sum(1 for t in study.trials if t.user_attrs.get("done") and t.user_attrs.get("worker") == worker)
        return ran


def _noop() -> None:
    return None


def _pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` worker processes, started at once. On Linux they are forked from this process,
    which has imported everything already (call it before starting threads); elsewhere a fork
    server that imports the harness once serves them."""
    if sys.platform.startswith("linux"):
        ctx = multiprocessing.get_context("fork")
    elif "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["harness", "torch", "optuna", "sklearn"])
    else:
        ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)
    pool.submit(_noop)  # starts the workers now
    return pool


@contextlib.contextmanager
def _executor(kind: str, scheduler: str | None, jobs: int, pool: ProcessPoolExecutor | None = None):
    """(executor, capacity): where cells run, and how many at once."""
    if kind == "local":
        yield pool, (lambda: jobs)
        return
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency of the suite
        raise UserError("executor: dask needs the 'distributed' package (pip install distributed)") from None
    try:
        client = Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserError(f"scheduler: cannot connect to {scheduler!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    try:
        yield client.get_executor(pure=False), (lambda: max(1, sum(client.nthreads().values())))
    finally:
        client.close()


def run_benchmark(
    spec: Spec,
    *,
    results_root: Path = Path("results"),
    tracking_uri: str | None = None,
    progress: bool = True,
    threads: int = 1,
    storage: str | None = None,
    fresh: bool = False,
    jobs: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    tuning_workers: int = 1,
) -> Outcome:
    """Run every cell of ``spec``; ``tracking_uri=None`` turns tracking off.

    Writes ``results_root/<spec.name>/results.csv`` after each cell (atomically), so the table
    on disk is always complete for the cells finished so far. Optuna studies live in
    ``storage`` (an Optuna storage URL; default: the journal file
    ``results_root/<spec.name>/optuna.journal``, ``"memory"`` for none), so a rerun resumes
    them; ``fresh`` deletes this spec's stored studies first. ``jobs`` > 1 runs cells in that
    many worker processes (each single-threaded); the results are identical to ``jobs=1``, whose
    cell order the table keeps. ``executor="dask"`` sends the cells to the Dask cluster at
    ``scheduler`` instead (as many at once as its workers have threads); tracking, the table
    and the figures stay with this process. ``tuning_workers`` > 1 splits each cell's trials
    between that many tasks sharing its study (faster for big budgets, not reproducible).
    """
    if executor not in ("local", "dask"):
        raise UserError(f"executor: unknown {executor!r}; use 'local' or 'dask'")
    if (executor == "dask") != (scheduler is not None):
        raise UserError("scheduler: --executor dask needs --scheduler tcp://HOST:PORT" if scheduler is None
                        else f"scheduler: {scheduler!r} is given but the executor is local; add --executor dask")
    if jobs < 1 or tuning_workers < 1:
        raise UserError(f"{'jobs' if jobs < 1 else 'tuning_workers'}: must be at least 1, not {min(jobs, tuning_workers)}")
    if executor == "dask" and jobs > 1:
        raise UserError(f"jobs: {jobs} applies to the local executor; a Dask cluster runs as many cells as its workers have threads")
    if tuning_workers > 1 and storage == "memory":
        raise UserError("storage: 'memory' cannot be shared; --tuning-workers needs the journal file or a database URL")
    started = time.perf_counter()
    parallel = executor == "dask" or jobs > 1 or tuning_workers > 1
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    data = DataProvider(spec)
    skipped = check_plan(spec, data)
    for reason in skipped.values():
        print(f"skipping cells: {reason}", file=sys.stderr)
    cells: list[Cell] = [c for c in expand(spec) if (c.dataset.key, c.ratio) not in skipped]
    spec_hash = spec.spec_hash()
    out_dir = Path(results_root) / spec.name
    out_csv = out_dir / "results.csv"
    tracker = MlflowTracker(tracking_uri) if tracking_uri else NullTracker()
    tracker.check()  # before anything is written (the storage below creates its journal file)
    # worker processes are forked now, before this process starts any thread (MLflow's)
    local_pool = _pool(jobs) if parallel and executor == "local" else None
    try:
        study_storage = open_storage(storage, out_dir / "optuna.journal")
        tracker.start(spec, spec_hash)
        if fresh and study_storage is not None:
            for cell in cells:
                for rep in range(spec.evaluation.repetitions):
                    with contextlib.suppress(KeyError):  # no such study yet
                        optuna.delete_study(study_name=study_name(spec, cell, rep), storage=study_storage)
        ledger = Ledger(out_dir, cells, spec.name, spec_hash)
        ledger.remove_stale_temporaries()  # temporary files of a killed run
        if fresh:
            with ledger.locked():
                out_csv.unlink(missing_ok=True)
        finished = ledger.finished()
        if finished:
            print(f"resuming: {len(finished)} of {len(cells)} cells already finished in {out_csv}, skipping them "
                  "(--fresh starts over)", file=sys.stderr)
        done: dict[int, CellResult] = {}
        tunings = spec.evaluation.repetitions if spec.tuning.per_repetition else 1
        per_cell = tunings * spec.tuning.n_trials + spec.evaluation.repetitions
        status = "FAILED"

        def record(index: int, result: CellResult, artifacts: list[Path]) -> None:
            done[index] = result
            rows = results_store.table(spec.name, spec_hash, [result]) if result.status == "ok" else None
            # merged into the table once the cell is tracked: the table never lists an untracked cell
            tracker.log_cell(result, artifacts=artifacts, then=lambda: ledger.record(index, rows))

        def next_cells(block: bool = True, first=None):
            """Claim cells one by one (in table order, or by the ``first`` key); then wait for the
            cells other runners hold, taking over the cells of runners that died. Not blocking, it
            yields None where it would wait."""
            mine: set[int] = set()
            while True:
                if mine:
                    tracker.flush()  # our own finished cells are in the table before we look again
                pending = sorted((i for i in ledger.pending() if i not in mine), key=first)
                if not pending:
                    return
                progressed = False
                for i in pending:
                    if ledger.try_claim(i):
                        mine.add(i)
                        progressed = True
                        yield i
                if not progressed:  # every pending cell is held by another live runner
                    if block:
                        time.sleep(1.0)
                    else:
                        yield None

        def run_parallel(bar) -> None:
            """Cells (or, with ``tuning_workers``, their tuning tasks and then the cell) as
            tasks of the local pool or the Dask cluster, as many at once as it has room for."""
            config = WorkerConfig(spec, threads, storage, (out_dir / "optuna.journal").resolve(), out_dir.resolve(),
                                  write_outputs=executor == "local")  # a cluster's files are not ours
            counted: dict[int, int] = {}  # fits of a cell already on the bar
            ready: deque = deque()  # (kind, cell index, tuning worker) to submit
            running: dict = {}  # future -> (kind, cell index)
            tunes_left: dict[int, int] = {}
            # biggest training sets first: the last cells to finish are short ones
            rows = {i: len(data.prepared(c.dataset, c.ratio, 0).train.y) for i, c in enumerate(cells)}
            claims = next_cells(block=False, first=lambda i: (-rows[i], i))
            exhausted = False

            def advance(i: int, fits: int) -> None:
                fits = min(fits, per_cell - counted.get(i, 0))
                counted[i] = counted.get(i, 0) + fits
                bar.update(fits)

            def fill(pool, capacity) -> None:
                nonlocal exhausted
                while len(running) < capacity():
                    if ready:
                        kind, i, k = ready.popleft()
                        future = (pool.submit(_worker_tune, config, cells[i], k) if kind == "tune"
                                  else pool.submit(_worker_cell, config, cells[i]))
                        running[future] = (kind, i)
                        continue
                    if exhausted:
                        return
                    i = next(claims, "end")
                    if i == "end":
                        exhausted = True
                    elif i is None:  # others hold the rest: collect ours, then look again
                        if not running:
                            time.sleep(1.0)
                        return
                    elif tuning_workers > 1:
                        for rep in range(tunings):  # stale trials of a killed run, before anyone works
                            close_stale(open_study(spec, cells[i], rep, study_storage))
                        ready.extend(("tune", i, k) for k in range(tuning_workers))
                        tunes_left[i] = tuning_workers
                    else:
                        ready.append(("cell", i, None))

            def collect(future) -> None:
                kind, i = running.pop(future)
                if kind == "tune":
                    advance(i, future.result())
                    tunes_left[i] -= 1
                    if not tunes_left[i]:  # its trials are in: evaluate it next
                        ready.appendleft(("cell", i, None))
                    return
                result, artifacts = future.result()
                if artifacts is None:
                    artifacts = _write_cell_outputs(spec, result, out_dir)
                advance(i, per_cell)
                bar.set_postfix_str(f"{len(done) + 1} cells done here: {result.cell.label}")
                record(i, result, artifacts)

            with _executor(executor, scheduler, jobs, local_pool) as (pool, capacity):
                try:
                    while True:
                        fill(pool, capacity)
                        if not running:
                            if exhausted and not ready:
                                return
                            continue
                        for future in wait(running, return_when=FIRST_COMPLETED)[0]:
                            collect(future)
                except BaseException:
                    for future in running:
                        future.cancel()
                    raise

        try:
            with tqdm(total=len(cells) * per_cell, initial=len(finished) * per_cell, desc=spec.name,
                      unit="fit", file=sys.stderr, disable=not progress, dynamic_ncols=True,
                      mininterval=0.1 if sys.stderr.isatty() else 5.0) as bar:
                if not parallel:
                    for i in next_cells():
                        cell = cells[i]
                        bar.set_postfix_str(f"cell {i + 1}/{len(cells)}: {cell.label}")
                        before = bar.n
                        result = run_cell(spec, cell, data, progress=lambda: bar.update(1), storage=study_storage)
                        bar.update(before + per_cell - bar.n)
                        record(i, result, _write_cell_outputs(spec, result, out_dir))
                else:
                    run_parallel(bar)
            status = "FINISHED"
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        finally:
            tracker.flush()
            table = ledger.table()
            summary = results_store.summary(table)
            tracker.finish(out_csv, summary.to_string() if not summary.empty else "no results", status)
        done = [done[i] for i in sorted(done)]
        failed = [r for r in done if r.status != "ok"]
        return Outcome(table, out_csv, done, failed, time.perf_counter() - started,
                       tracking_seconds=tracker.seconds, tracking_call_seconds=tracker.call_seconds,
                       optuna_seconds=sum(r.optuna_seconds for r in done))
    finally:
        if local_pool is not None:
            local_pool.shutdown(wait=True, cancel_futures=True)
