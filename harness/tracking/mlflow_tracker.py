"""MLflow tracking, kept apart from computing: it logs finished cell results.

What each run holds is decided in :mod:`harness.tracking.runs`; this module writes it cheaply.
A database store (SQLite by default) at a schema revision the direct path was checked against
gets a cell's runs as bulk inserts in one transaction (:mod:`harness.tracking.sql`); any other
store (an ``mlflow server``, a database a newer MLflow migrated) gets each run as one
``create_run`` carrying its tags, one ``log_batch`` and one ``set_terminated``. Either way a
cell's files go up in one ``log_artifacts``, and the store is searched once at the start,
never per cell. One client (one connection pool) serves the whole run, in one background
thread whose CPU time is measured (``call_seconds``).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from harness import processes
from harness.errors import UserError
from harness.store.provenance import git_commit, package_versions
from harness.store.records import now_ms
from harness.tracking.runs import (
    RunPlan,
    cell_runs,
    cell_tags,
    finite,
    fmt_param,
    metric_keys,
    parent_run,
    trials_table,
)
from harness.tracking.sql import (
    create_sqlite_store,
    database_store,
    insert_cell,
    sqlite_path,
    sync_normal,
    unchecked_schema,
    use_wal,
)

if TYPE_CHECKING:
    from harness.store.records import CellResult

__all__ = ["MlflowTracker", "NullTracker", "TrackingError", "log_report", "metric_keys", "resolve_tracking_uri"]

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
_METRICS_PER_BATCH = 900  # MLflow accepts at most 1000 metrics, 100 params, 1000 entries per log_batch
_PARAMS_PER_BATCH = 100


def resolve_tracking_uri(cli_value: str | None) -> str:
    """``--tracking-uri``, else ``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` here."""
    return cli_value or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


class TrackingError(UserError):
    """MLflow could not be reached or refused a write; the message names the store."""


class NullTracker:
    """Tracking off: the pipeline runs the same, nothing is logged."""

    seconds = 0.0
    call_seconds = 0.0
    setup_seconds = 0.0

    def check(self) -> None:  # noqa: D102
        pass

    def start(self, spec, spec_hash: str) -> None:  # noqa: D102
        pass

    def log_cell(self, result: CellResult, artifacts=(), then=None) -> None:  # noqa: D102
        if then is not None:
            then()

    def flush(self) -> None:  # noqa: D102
        pass

    def finish(self, results_csv: Path | None, summary_text: str, status: str) -> None:  # noqa: D102
        pass


# What another runner writing the same store at the same moment makes a write fail with: SQLite's
# lock, or a unique row (an experiment, a dataset input) it inserted between this runner's read
# and its insert. Written again, the write reads that row and succeeds.
_CONCURRENT_WRITE = ("database is locked", "unique constraint failed", "already exists", "duplicate key")
_ATTEMPTS = 4


def _concurrent(exc: Exception) -> bool:
    """Whether ``exc`` is a write refused because another runner wrote the same rows at once."""
    return any(sign in str(exc).lower() for sign in _CONCURRENT_WRITE)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# what was said once per process (a schema the direct path does not know), and its lock:
# several trackers, each in its own logging thread, may open the same store
_said: set[str] = set()
_said_lock = threading.Lock()


def _say_once(key: str, line: str) -> None:
    """Print ``line`` on stderr the first time ``key`` is said in this process."""
    with _said_lock:
        if key in _said:
            return
        _said.add(key)
    print(line, file=sys.stderr, flush=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class MlflowTracker:
    """Logs a benchmark to the MLflow store at ``uri``.

    ``seconds``: wall time the benchmark waited for MLflow; ``call_seconds``: CPU time spent
    on MLflow work (the logging thread's own CPU time, and the closing calls), of which
    ``setup_seconds`` importing MLflow and opening the store.
    """

    def __init__(self, uri: str, background: bool = True) -> None:
        self.uri = uri
        self.seconds = 0.0
        self.call_seconds = 0.0
        self.setup_seconds = 0.0
        self.client = None
        # Cells are logged by one background thread while the next cell computes; errors
        # surface at the next log_cell or at finish, as one line naming the store.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow") if background else None
        self._pending: list[Future] = []
        self.experiment_id: str | None = None
        self.benchmark_run_id: str | None = None
        self._common_tags: dict[str, str] = {}
        self._logged: set[str] = set()  # names of this spec's cells already FINISHED in the store
        self._store = None  # the database store runs are written to directly, if any
        self._artifact_location = ""

    @property
    def cpu_seconds(self) -> float:
        """CPU time of MLflow work (same as ``call_seconds``)."""
        return self.call_seconds

    def _call(self, what: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, written again (up to :data:`_ATTEMPTS` times, backing off)
        where another runner's write at the same moment refused it; any other failure, or the
        last, becomes one line naming the store."""
        attempt = 1
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # MLflow raises many types; all become one line naming the store
                if attempt == _ATTEMPTS or not _concurrent(exc):
                    raise TrackingError(f"tracking store {self.uri}: {what} failed: {_first_line(exc)}") from None
            time.sleep(0.1 * 2 ** (attempt - 1))
            attempt += 1

    def _timed(self, fn, *args) -> None:
        """Run ``fn`` counting the CPU time of this thread into ``call_seconds``."""
        t0 = time.thread_time()
        try:
            fn(*args)
        finally:
            self.call_seconds += time.thread_time() - t0

    def _submit(self, fn, *args, then=None) -> None:
        """Run ``fn`` in the logging thread (or here, waiting, without one), then ``then``,
        whose time is not MLflow's (the results table's rewrite)."""
        if self._executor is not None:
            self._pending.append(self._executor.submit(self._timed_then, fn, args, then))
            return
        t0 = time.perf_counter()
        try:
            self._timed_then(fn, args, then)
        finally:
            self.seconds += time.perf_counter() - t0

    def _timed_then(self, fn, args: tuple, then) -> None:
        self._timed(fn, *args)
        if then is not None:
            then()

    def flush(self) -> None:
        """Wait until every cell handed over so far is logged (and recorded)."""
        self._drain(wait=True)

    def _drain(self, wait: bool) -> None:
        """Collect finished background logging; re-raise the first error."""
        t0 = time.perf_counter()
        try:
            for future in list(self._pending):
                if wait or future.done():
                    self._pending.remove(future)
                    future.result()
        finally:
            self.seconds += time.perf_counter() - t0

    def _check_reachable(self) -> None:
        """An HTTP store must answer its health check at once: MLflow's own client would retry
        for minutes before failing."""
        if not self.uri.startswith(("http://", "https://")):
            return
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(self.uri.rstrip("/") + "/health", timeout=10) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingError(f"tracking store {self.uri}: cannot be reached ({reason})") from None

    def _check_sqlite(self) -> None:
        path = sqlite_path(self.uri)
        if path is None:
            return
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise TrackingError(f"tracking store {self.uri}: folder {str(folder)!r} does not exist or is not writable")

    def check(self) -> None:
        """Fail at once, writing nothing, where the store cannot be used: a server that does not
        answer its health check, a SQLite file in a folder that is missing or read-only."""
        t0 = time.perf_counter()
        self._check_reachable()
        self._check_sqlite()
        self.seconds += time.perf_counter() - t0

    def start(self, spec, spec_hash: str) -> None:
        """Check the store at once (see :meth:`check`), then connect and create the experiment
        and the benchmark run in the background while work begins."""
        self.check()
        self._submit(self._connect, spec, spec_hash)

    def _connect(self, spec, spec_hash: str) -> None:
        try:
            t0 = time.thread_time()
            self._open_client()
            self.setup_seconds += time.thread_time() - t0
            self.spec = spec
            self._start_runs(spec, spec_hash)
        except TrackingError:
            raise
        except Exception as exc:  # import or schema problems: one line naming the store
            raise TrackingError(f"tracking store {self.uri}: connecting failed: {_first_line(exc)}") from None

    def _open_client(self) -> None:
        from mlflow import MlflowClient  # imported here: tracking off never pays for it

        # after the import, which configures MLflow's loggers at INFO
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        warnings.filterwarnings("ignore", module="mlflow")
        if (path := sqlite_path(self.uri)) is not None:
            create_sqlite_store(path, MlflowClient)
            use_wal(path)
        self.client = MlflowClient(tracking_uri=self.uri)
        sync_normal(self.client)
        store = database_store(self.client)
        if store is not None and (why := unchecked_schema(store)) is not None:
            _say_once(why, f"tracking store {self.uri}: {why}; writing runs through MLflow's client instead "
                           "(same runs, slower; see docs/tracking.md)")
            store = None
        self._store = store

    def _experiment(self, spec):
        """The spec's experiment, created if the store has none. Two runners started at once on
        one spec may both find none: the one whose create is refused reads the other's."""
        experiment = self._call("reading the experiment", self.client.get_experiment_by_name, spec.name)
        if experiment is not None:
            return experiment
        tags = {"benchmark": spec.name, "mlflow.note.content": spec.description,
                # open the UI on the training runs, not MLflow 3's GenAI overview
                "mlflow.experimentKind": "custom_model_development"}
        try:
            return self.client.get_experiment(self.client.create_experiment(spec.name, tags=tags))
        except Exception as exc:
            if _concurrent(exc):
                theirs = self._call("reading the experiment", self.client.get_experiment_by_name, spec.name)
                if theirs is not None:
                    return theirs
            raise TrackingError(f"tracking store {self.uri}: creating the experiment failed: "
                                f"{_first_line(exc)}") from None

    def _start_runs(self, spec, spec_hash: str) -> None:
        experiment = self._experiment(spec)
        self.experiment_id, self._artifact_location = experiment.experiment_id, experiment.artifact_location
        self._common_tags = {
            "benchmark": spec.name, "spec_hash": spec_hash, "git_commit": git_commit(),
            "model": ",".join(m.key for m in spec.models),  # the benchmark run: every model of the axis
            "runner_host": processes.HOST, "runner_pid": str(os.getpid()),
            **{f"version.{k}": v for k, v in package_versions().items()},
        }
        self._close_orphans()
        self._logged = self._finished_cells(spec_hash)
        run = self._call(
            "creating the benchmark run", self.client.create_run, self.experiment_id,
            start_time=now_ms(), run_name=f"{spec.name} (benchmark)",
            tags={**self._common_tags, "kind": "benchmark"},
        )
        self.benchmark_run_id = run.info.run_id
        self._log(self.benchmark_run_id, params={"spec": spec.model_dump_json()[:6000]})

    def _close_orphans(self) -> None:
        """Runs left RUNNING by a runner on this host that no longer lives are closed as KILLED."""
        runs = self._call("searching unfinished runs", self.client.search_runs, [self.experiment_id],
                          "attributes.status = 'RUNNING'", max_results=5000)
        for run in runs:
            tags = run.data.tags
            pid = tags.get("runner_pid", "")
            if tags.get("runner_host") != processes.HOST or not pid.isdigit() or processes.alive(processes.HOST, pid):
                continue  # another host's run, a run without a runner, or a live runner's
            self._call("closing an orphaned run", self.client.set_terminated, run.info.run_id, status="KILLED")

    def _finished_cells(self, spec_hash: str) -> set[str]:
        """Names of this spec's cells with a FINISHED run (a killed run logged them, then died
        before writing their rows): searched once, so that logging stays idempotent without a
        search per cell."""
        runs = self._call(
            "searching the finished cells", self.client.search_runs, [self.experiment_id],
            f"tags.kind = 'cell' and tags.spec_hash = '{spec_hash}' and attributes.status = 'FINISHED'",
            max_results=5000)
        return {r.info.run_name for r in runs}

    def _log(self, run_id: str, metrics=(), params: dict | None = None) -> None:
        """Metrics and params of a run in as few ``log_batch`` calls as MLflow's limits allow (one, mostly)."""
        from mlflow.entities import Metric, Param

        metric_list = [Metric(k, v, ts, step) for k, v, ts, step in finite(metrics)]
        param_list = [Param(k, fmt_param(v)[:6000]) for k, v in (params or {}).items()]
        calls = max(-(-len(metric_list) // _METRICS_PER_BATCH), -(-len(param_list) // _PARAMS_PER_BATCH))
        for i in range(calls):
            self._call("logging", self.client.log_batch, run_id,
                       metrics=metric_list[i * _METRICS_PER_BATCH: (i + 1) * _METRICS_PER_BATCH],
                       params=param_list[i * _PARAMS_PER_BATCH: (i + 1) * _PARAMS_PER_BATCH])

    def _create(self, name: str, start_ms: int, tags: dict, parent: str | None = None) -> str:
        """A new run, its tags (and its parent) set in the same call."""
        if parent is not None:
            tags = {**tags, "mlflow.parentRunId": parent}
        run = self._call("creating a run", self.client.create_run, self.experiment_id,
                         start_time=start_ms, run_name=name, tags=tags)
        return run.info.run_id

    def _write(self, plan: RunPlan, parent: str) -> None:
        """One finished child run: create with tags, one batch, close."""
        run_id = self._create(plan.name, plan.start_ms, plan.tags, parent)
        self._log(run_id, plan.metrics, plan.params)
        self._call("closing a run", self.client.set_terminated, run_id, status=plan.status, end_time=plan.end_ms)

    def log_cell(self, result: CellResult, artifacts=(), then=None) -> None:
        """Log one finished cell (in the background thread when there is one), then call ``then``."""
        self._drain(wait=False)
        self._submit(self._log_cell, result, list(artifacts), then=then)

    def _log_cell(self, result: CellResult, artifacts: list[Path]) -> None:
        """The cell's parent run, its trial and repetition children, its files; then close it.
        A cell already FINISHED in the store (see :meth:`_finished_cells`) is not logged twice."""
        label = result.cell.label
        if result.status == "ok" and label in self._logged:
            return
        tags = cell_tags(result, result.cell.config, self._common_tags)
        parent, children = parent_run(result, tags), cell_runs(result, tags)
        run_id = self._insert(parent, children) if self._store is not None else None
        if run_id is None:
            run_id = self._create(parent.name, parent.start_ms, parent.tags)
            for plan in children:
                self._write(plan, run_id)
            self._log(run_id, parent.metrics, parent.params)
        if result.repetitions:
            self._log_dataset(run_id, result)
        self._log_files(run_id, result, artifacts)
        self._call("closing a run", self.client.set_terminated, run_id,
                   status="FINISHED" if result.status == "ok" else "FAILED", end_time=result.end_ms)
        if result.status == "ok":
            self._logged.add(label)

    def _insert(self, parent: RunPlan, children: list[RunPlan]) -> str | None:
        """Write the cell's runs straight into the database store (:mod:`harness.tracking.sql`);
        None, and the client from now on, where the store refuses them (the transaction left nothing)."""
        try:  # written again where another runner's write refused it (SQLite's lock), as any write
            return self._call("writing runs directly", insert_cell, self._store, self.experiment_id,
                              self._artifact_location, parent, children)
        except TrackingError as exc:  # a schema this code does not know: MLflow's client writes the same runs
            logging.getLogger(__name__).warning("%s; using MLflow's client", exc)
            self._store = None
            return None

    def _log_files(self, run_id: str, result: CellResult, artifacts: list[Path]) -> None:
        """The cell's figures and predictions, and ``trials.csv``, in one upload."""
        with tempfile.TemporaryDirectory(prefix="mlflow-cell-") as tmp:
            for path in artifacts:
                _link_or_copy(Path(path), Path(tmp) / Path(path).name)
            if result.trials:
                (Path(tmp) / "trials.csv").write_text(trials_table(result))
            if any(Path(tmp).iterdir()):
                self._call("uploading the cell's files", self.client.log_artifacts, run_id, tmp)

    def _log_dataset(self, run_id: str, result: CellResult) -> None:
        """The prepared data of each repetition as an MLflow dataset input, digest = fingerprint."""
        import json

        from mlflow.entities import Dataset, DatasetInput, InputTag

        cell = result.cell
        inputs = []
        for r in result.repetitions:
            source = json.dumps({"dataset": cell.dataset.name, "params": cell.dataset.params,
                                 "imbalance_ratio": cell.ratio_label, "repetition": r.repetition}, sort_keys=True)
            dataset = Dataset(name=f"{cell.dataset.key} ρ={cell.ratio_label} rep {r.repetition}",
                              digest=r.fingerprint, source_type="code", source=source)
            inputs.append(DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "train/validation/test")]))
        self._call("logging the dataset inputs", self.client.log_inputs, run_id, datasets=inputs)

    def finish(self, results_csv: Path | None, summary_text: str, status: str) -> None:
        """Wait for the logging thread, then attach the results table and summary to the
        benchmark run and close it."""
        try:
            self._drain(wait=True)
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
        if self.benchmark_run_id is not None:
            self._submit(self._finish, results_csv, summary_text, status)

    def _finish(self, results_csv: Path | None, summary_text: str, status: str) -> None:
        if results_csv is not None and results_csv.exists():
            self._call("uploading the results table", self.client.log_artifact, self.benchmark_run_id, str(results_csv))
        self._call("uploading the summary", self.client.log_text, self.benchmark_run_id, summary_text, "summary.txt")
        self._call("closing the benchmark run", self.client.set_terminated, self.benchmark_run_id,
                   status=status, end_time=now_ms())


def log_report(uri: str, results_dir: Path, files: list[Path]) -> str | None:
    """Attach report files to the latest benchmark-level run of the results' benchmark; None
    when the store has no such run (a local SQLite store that does not exist is not created)."""
    path = sqlite_path(uri)
    if path is not None and not path.exists():
        return None
    tracker = MlflowTracker(uri, background=False)
    tracker._check_reachable()
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = tracker._call("reading the experiment", client.get_experiment_by_name, results_dir.name)
    if experiment is None:
        return None
    runs = tracker._call("searching the benchmark run", client.search_runs, [experiment.experiment_id],
                         "tags.kind = 'benchmark'", max_results=1, order_by=["attributes.start_time DESC"])
    if not runs:
        return None
    run_id = runs[0].info.run_id
    for path in files:
        tracker._call("uploading the report", client.log_artifact, run_id, str(path), "report")
    return run_id
