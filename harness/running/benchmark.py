"""Run a whole benchmark: validate the options and the plan, open the stores, submit the
cells, record each result as it completes."""

from __future__ import annotations

import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, model_validator
from tqdm import tqdm

import datasets
from harness import learners
from harness.errors import UserError
from harness.plan import cost
from harness.plan.cells import Cell, expand, grid
from harness.plan.checks import dense_problems, images_problems, learner_problems, problems
from harness.plan.data import DataProvider
from harness.running.cell import run_cell
from harness.running.executors import open_executor
from harness.running.ledger import Ledger
from harness.running.outputs import write_cell_outputs
from harness.running.workers import WorkerConfig, cell_task, tune_task
from harness.spec.schema import Spec
from harness.store import results as results_store
from harness.store.records import CellResult
from harness.store.run_spec import write_run_spec
from harness.tracking.mlflow_tracker import MlflowTracker, NullTracker
from harness.tuning.storage import delete_studies, open_storage
from harness.tuning.study import close_stale, open_study, study_name


@dataclass
class Outcome:
    """What a benchmark run produced."""

    table: pd.DataFrame
    results_csv: Path
    cells: list[CellResult]
    failed: list[CellResult] = field(default_factory=list)
    seconds: float = 0.0
    tracking_seconds: float = 0.0  # the run waited for MLflow
    tracking_call_seconds: float = 0.0  # CPU time of MLflow calls (its logging thread), overlapped with training
    optuna_seconds: float = 0.0  # in Optuna itself


class RunOptions(BaseModel):
    """How to run a benchmark (the command line's options); see :func:`run_benchmark`."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    results_root: Path = Path("results")
    tracking_uri: str | None = None
    progress: bool = True
    threads: int = 1
    storage: str | None = None
    fresh: bool = False
    jobs: int = 1
    executor: Literal["local", "dask"] = "local"
    scheduler: str | None = None
    tuning_workers: int = 1

    @model_validator(mode="after")
    def _consistent(self) -> RunOptions:
        if (self.executor == "dask") != (self.scheduler is not None):
            raise UserError("scheduler: --executor dask needs --scheduler tcp://HOST:PORT" if self.scheduler is None
                            else f"scheduler: {self.scheduler!r} is given but the executor is local; add --executor dask")
        for name in ("jobs", "tuning_workers", "threads"):
            if getattr(self, name) < 1:
                raise UserError(f"{name}: must be at least 1, not {getattr(self, name)}")
        if self.executor == "dask" and self.jobs > 1:
            raise UserError(f"jobs: {self.jobs} applies to the local executor; a Dask cluster runs as many cells "
                            "as its workers have threads")
        if self.tuning_workers > 1 and self.storage == "memory":
            raise UserError("storage: 'memory' cannot be shared; --tuning-workers needs the journal file or a database URL")
        return self

    @property
    def parallel(self) -> bool:
        return self.executor == "dask" or self.jobs > 1 or self.tuning_workers > 1


def check_plan(spec: Spec, data: DataProvider) -> dict[tuple[str, object], str]:
    """Prepare every (dataset, ratio) before any work, so data errors stop the run early.

    Returns the (dataset key, ratio) pairs to skip, with the reason, when the spec says
    ``unreachable_ratio: skip``; otherwise the first data error stops the run.
    """
    if spec.training.device == "cuda" and not torch.cuda.is_available():
        raise UserError("training.device: 'cuda', but torch sees no CUDA device here (use 'auto' or 'cpu')")
    skipped, on = {}, {}
    for cell in grid(spec):  # once: the checks below are per dataset, the grid spans them all
        on.setdefault(cell[0].key, []).append(cell)
    for ds in spec.datasets:
        for ratio in spec.ratios_of(ds):
            try:
                prepared = data.prepared(ds, ratio, 0)
                n_classes, cells = prepared.n_classes, on.get(ds.key, [])
                problem = (problems(spec, ds, n_classes) or learner_problems(spec, ds, ratio, n_classes, cells)
                           or images_problems(spec, ds, ratio, prepared.image_shape, cells)
                           or dense_problems(spec, ds, "dense" in prepared.info, cells))
                if problem is not None:
                    raise UserError(problem)
            except datasets.DataError as exc:
                if spec.unreachable_ratio == "skip" and "reachable" in str(exc):  # "largest reachable ratio", "no ratio is reachable"
                    skipped[(ds.key, ratio)] = str(exc)
                    continue
                raise UserError(str(exc)) from None
    return skipped


class _Run:
    """One benchmark run in progress: its cells, stores, claims and the results so far."""

    def __init__(self, spec: Spec, opts: RunOptions, data: DataProvider, cells: list[Cell], tracker) -> None:
        self.spec, self.opts, self.data, self.cells, self.tracker = spec, opts, data, cells, tracker
        self.spec_hash = spec.spec_hash()
        self.out_dir = Path(opts.results_root) / spec.name
        self.tunings = spec.evaluation.fits if spec.tuning.per_repetition else 1
        shapes = cost.shapes(spec, cells, data)
        self.per_cell = [s.fits for s in shapes]  # fits per cell
        self.costs = cost.estimates(shapes)  # the bar moves by a cell's estimated seconds per fit
        self.done: dict[int, CellResult] = {}
        self.counted: dict[int, int] = {}  # fits of a cell already on the bar
        self.storage = self.ledger = self.bar = None

    def open_stores(self) -> None:
        """The study storage (emptied of this spec's studies with ``fresh``) and the ledger."""
        spec, opts = self.spec, self.opts
        self.storage = open_storage(opts.storage, self.out_dir / "optuna.journal")
        self.tracker.start(spec, self.spec_hash)
        if opts.fresh and self.storage is not None:
            delete_studies(self.storage, [study_name(spec, c, rep) for c in self.cells
                                          for rep in range(spec.evaluation.fits)])
        self.ledger = Ledger(self.out_dir, self.cells, spec.name, self.spec_hash)
        self.ledger.remove_stale_temporaries()  # temporary files of a killed run
        write_run_spec(spec, self.out_dir)  # the report reads the regime and budgets from it
        if opts.fresh:
            with self.ledger.locked():
                (self.out_dir / "results.csv").unlink(missing_ok=True)

    def advance(self, i: int, fits: int) -> None:
        fits = min(fits, self.per_cell[i] - self.counted.get(i, 0))
        self.counted[i] = self.counted.get(i, 0) + fits
        self.bar.update(fits * self.costs[i] / self.per_cell[i])

    def record(self, index: int, result: CellResult, artifacts: list[Path]) -> None:
        """Keep the result, and merge its rows into the table once it is tracked (so the table
        never lists an untracked cell)."""
        self.done[index] = result
        rows = results_store.table(self.spec.name, self.spec_hash, [result]) if result.status == "ok" else None
        self.tracker.log_cell(result, artifacts=artifacts, then=lambda: self.ledger.record(index, rows))

    def run_inline(self) -> None:
        """Every cell in this process, one after another, the bar moving per fit."""
        for i in self.ledger.claim_all(before_look=self.tracker.flush):
            cell = self.cells[i]
            self.bar.set_postfix_str(f"cell {i + 1}/{len(self.cells)}: {cell.label}")
            result = run_cell(self.spec, cell, self.data, progress=lambda i=i: self.advance(i, 1),
                              storage=self.storage)
            self.advance(i, self.per_cell[i])
            self.record(i, result, write_cell_outputs(self.spec, result, self.out_dir))

    def submit(self, executor, config: WorkerConfig, i: int) -> dict[Future, tuple[str, int]]:
        """Cell ``i`` as tasks: the cell alone, or its tuning shares and the cell after them."""
        cell = self.cells[i]
        if self.opts.tuning_workers == 1:
            return {executor.submit(cell_task, config, cell): ("cell", i)}
        for rep in range(self.tunings):  # stale trials of a killed run, before anyone works
            close_stale(open_study(self.spec, cell, rep, self.storage))
        tunes = {executor.submit(tune_task, config, cell, k): ("tune", i) for k in range(self.opts.tuning_workers)}
        return {**tunes, executor.after(list(tunes), cell_task, config, cell): ("cell", i)}

    def collect(self, kind: str, i: int, future: Future) -> None:
        if kind == "tune":
            self.advance(i, future.result())
            return
        result, artifacts = future.result()
        if artifacts is None:  # a cluster's worker: this process writes the files
            artifacts = write_cell_outputs(self.spec, result, self.out_dir)
        self.advance(i, self.per_cell[i])
        self.bar.set_postfix_str(f"{len(self.done) + 1} cells done here: {result.cell.label}")
        self.record(i, result, artifacts)

    def run_parallel(self, executor) -> None:
        """Cells as tasks of the executor, as many at once as it has room for (the costliest by
        the cost model first: the last cells to finish are short ones)."""
        opts = self.opts
        config = WorkerConfig(self.spec, opts.threads, opts.storage, (self.out_dir / "optuna.journal").resolve(),
                              self.out_dir.resolve(), write_outputs=opts.executor == "local")
        claims = self.ledger.claim_all(order=lambda i: (-self.costs[i], i), wait=False, before_look=self.tracker.flush)
        running: dict[Future, tuple[str, int]] = {}
        exhausted = False
        try:
            while True:
                while not exhausted and self._load(running) < executor.capacity:
                    i = next(claims, "end")
                    if i is None or i == "end":  # others hold the rest, or nothing is left
                        exhausted = i == "end"
                        if i is None and not running:
                            time.sleep(1.0)  # only other runners' cells are left: wait for them
                        break
                    running.update(self.submit(executor, config, i))
                if not running:
                    if exhausted:
                        return
                    continue
                for future in wait(running, return_when=FIRST_COMPLETED)[0]:
                    self.collect(*running.pop(future), future)
        except BaseException:
            for future in running:
                future.cancel()
            raise

    @staticmethod
    def _load(running: dict[Future, tuple[str, int]]) -> int:
        """Tasks that can run now: a cell waiting for its tuning shares is not one yet."""
        tuning = {i for kind, i in running.values() if kind == "tune"}
        return sum(1 for kind, i in running.values() if kind == "tune" or i not in tuning)


def _plan(spec: Spec, data: DataProvider) -> list[Cell]:
    """The cells to run, after every (dataset, ratio) was checked (skipped ones said on stderr)."""
    skipped = check_plan(spec, data)
    for reason in skipped.values():
        print(f"skipping cells: {reason}", file=sys.stderr)
    return [c for c in expand(spec, data) if (c.dataset.key, c.ratio) not in skipped]


def _execute(run: _Run, executor) -> str:
    """Run the cells under a progress bar; the status the benchmark run ends with."""
    spec, finished = run.spec, run.ledger.finished()
    if finished:
        print(f"resuming: {len(finished)} of {len(run.cells)} cells already finished in {run.out_dir / 'results.csv'}, "
              "skipping them (--fresh starts over)", file=sys.stderr)
    left = [c for i, c in enumerate(run.costs) if i not in finished]
    if run.opts.progress:
        print(f"{len(left)} cells to run, estimated {cost.duration(cost.estimate(left, run.opts.jobs))}"
              f" with --jobs {run.opts.jobs} (harness/cost.py)", file=sys.stderr)
    with tqdm(total=sum(run.costs), initial=sum(run.costs[i] for i in finished), desc=spec.name,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}",
              file=sys.stderr, disable=not run.opts.progress, dynamic_ncols=True,
              mininterval=0.1 if sys.stderr.isatty() else 5.0) as run.bar:
        try:
            run.run_parallel(executor) if executor is not None else run.run_inline()
        except KeyboardInterrupt:
            return "KILLED"
    return "FINISHED"


def run_benchmark(spec: Spec, **options) -> Outcome:
    """Run every cell of ``spec`` with the :class:`RunOptions` given as keywords
    (``tracking_uri=None`` turns tracking off).

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
    opts = RunOptions(**options)
    started = time.perf_counter()
    torch.set_num_threads(opts.threads)
    torch.use_deterministic_algorithms(True)
    data = DataProvider(spec)
    cells = _plan(spec, data)
    tracker = MlflowTracker(opts.tracking_uri) if opts.tracking_uri else NullTracker()
    tracker.check()  # before anything is written (the storage below creates its journal file)
    # local worker processes are forked now, before this process starts any thread (MLflow's)
    executor = open_executor(opts.executor, jobs=opts.jobs, scheduler=opts.scheduler) if opts.parallel else None
    run, status = _Run(spec, opts, data, cells, tracker), "FAILED"
    try:
        run.open_stores()
        status = _execute(run, executor)
    finally:
        try:
            if run.ledger is not None:
                tracker.flush()
                table = run.ledger.table()
                summary = results_store.summary(table)
                tracker.finish(run.out_dir / "results.csv", summary.to_string() if not summary.empty else "no results",
                               status)
        finally:
            if executor is not None:
                executor.close()
    if status == "KILLED":
        raise KeyboardInterrupt
    done = [run.done[i] for i in sorted(run.done)]
    return Outcome(table, run.out_dir / "results.csv", done, [r for r in done if r.status != "ok"],
                   time.perf_counter() - started, tracking_seconds=tracker.seconds,
                   tracking_call_seconds=tracker.call_seconds, optuna_seconds=sum(r.optuna_seconds for r in done))
