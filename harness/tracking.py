"""MLflow tracking, kept apart from computing: it logs finished :class:`CellResult` objects.

Layout: experiment = benchmark; a parent run per cell with child runs per Optuna trial
(params, per-epoch validation curve as steps) and per evaluation repetition (test metrics);
one benchmark-level run holding the results table. Every run is written with few calls
(``create_run``, one ``log_batch``, ``set_terminated``) to keep bookkeeping cheap.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UserError
from .records import CellResult, now_ms
from .provenance import git_commit, package_versions

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
_BATCH = 900  # MLflow accepts at most 1000 metrics per log_batch


def resolve_tracking_uri(cli_value: str | None) -> str:
    """``--tracking-uri``, else ``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` here."""
    return cli_value or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


class TrackingError(UserError):
    """MLflow could not be reached or refused a write; the message names the store."""


class NullTracker:
    """Tracking off: the pipeline runs the same, nothing is logged."""

    seconds = 0.0
    call_seconds = 0.0

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


def metric_keys(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """Flatten {variant: {metric: value}} to MLflow keys: ``ece`` (raw), ``ece_temperature``, ..."""
    return {
        (name if variant == "raw" else f"{name}_{variant}"): value
        for variant, scores in metrics.items()
        for name, value in scores.items()
    }


def _fmt(value: Any) -> str:
    return "none" if value is None else (f"{value:.10g}" if isinstance(value, float) else str(value))


class MlflowTracker:
    """Logs a benchmark to the MLflow store at ``uri``."""

    def __init__(self, uri: str, background: bool = True) -> None:
        self.uri = uri
        self.seconds = 0.0  # wall time the benchmark waited for MLflow
        self.call_seconds = 0.0  # time inside MLflow calls (in the background thread when there is one)
        self.client = None
        # Cells are logged by one background thread while the next cell computes; errors
        # surface at the next log_cell or at finish, as one line naming the store.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow") if background else None
        self._pending: list[Future] = []
        self.experiment_id: str | None = None
        self.benchmark_run_id: str | None = None
        self._common_tags: dict[str, str] = {}

    def _call(self, what: str, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # MLflow raises many types; all become one line naming the store
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TrackingError(f"tracking store {self.uri}: {what} failed: {first}") from None
        finally:
            self.call_seconds += time.perf_counter() - t0

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
        if self._executor is None:
            self._connect(spec, spec_hash)
        else:
            self._pending.append(self._executor.submit(self._connect, spec, spec_hash))

    def _check_sqlite(self) -> None:
        if not self.uri.startswith("sqlite:///"):
            return
        path = Path(self.uri.removeprefix("sqlite:///"))
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise TrackingError(f"tracking store {self.uri}: folder {str(folder)!r} does not exist or is not writable")

    def _connect(self, spec, spec_hash: str) -> None:
        try:
            self._connect_unchecked(spec, spec_hash)
        except TrackingError:
            raise
        except Exception as exc:  # import or schema problems: one line naming the store
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TrackingError(f"tracking store {self.uri}: connecting failed: {first}") from None

    def _init_sqlite(self, client_class) -> None:
        """Create a new SQLite store under a temporary name and link it into place, so that a
        run killed during MLflow's schema migrations never leaves a half-made store behind."""
        if not self.uri.startswith("sqlite:///"):
            return
        path = Path(self.uri.removeprefix("sqlite:///"))
        if path.exists():
            return
        tmp = path.with_name(f".{path.name}.init-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        client_class(tracking_uri=f"sqlite:///{tmp}").search_experiments(max_results=1)
        try:
            os.link(tmp, path)  # fails if another runner created the store meanwhile: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)

    def _connect_unchecked(self, spec, spec_hash: str) -> None:
        t0 = time.perf_counter()
        from mlflow import MlflowClient  # imported here: tracking off never pays for it

        # after the import, which configures MLflow's loggers at INFO
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        warnings.filterwarnings("ignore", module="mlflow")

        self._init_sqlite(MlflowClient)
        self.client = MlflowClient(tracking_uri=self.uri)
        self.spec = spec
        self.call_seconds += time.perf_counter() - t0
        self._start_runs(spec, spec_hash)

    def _start_runs(self, spec, spec_hash: str) -> None:
        experiment = self._call("reading the experiment", self.client.get_experiment_by_name, spec.name)
        if experiment is None:
            self.experiment_id = self._call(
                "creating the experiment", self.client.create_experiment, spec.name,
                tags={"benchmark": spec.name, "mlflow.note.content": spec.description,
                      # open the UI on the training runs, not MLflow 3's GenAI overview
                      "mlflow.experimentKind": "custom_model_development"},
            )
        else:
            self.experiment_id = experiment.experiment_id
        versions = package_versions()
        self._common_tags = {
            "benchmark": spec.name,
            "spec_hash": spec_hash,
            "git_commit": git_commit(),
            "model": ",".join(m.key for m in spec.models),  # the model axis (issue 19): every model
            "runner_host": socket.gethostname(),
            "runner_pid": str(os.getpid()),
            **{f"version.{k}": v for k, v in versions.items()},
        }
        self._close_orphans()
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
        host = socket.gethostname()
        for run in runs:
            tags = run.data.tags
            if tags.get("runner_host") != host or not tags.get("runner_pid", "").isdigit():
                continue
            try:
                os.kill(int(tags["runner_pid"]), 0)
                continue  # still running: another runner's live run
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            self._call("closing an orphaned run", self.client.set_terminated, run.info.run_id, status="KILLED")

    def _log(self, run_id: str, metrics=(), params: dict | None = None, tags: dict | None = None) -> None:
        from mlflow.entities import Metric, Param, RunTag

        param_list = [Param(k, _fmt(v)[:6000]) for k, v in (params or {}).items()]
        tag_list = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        metric_list = [Metric(k, float(v), ts, step) for k, v, ts, step in metrics if math.isfinite(float(v))]
        first = True
        for i in range(0, max(len(metric_list), 1), _BATCH):
            self._call(
                "logging", self.client.log_batch, run_id, metrics=metric_list[i : i + _BATCH],
                params=param_list if first else [], tags=tag_list if first else [],
            )
            first = False

    def _run(self, name: str, start: int, end: int, tags: dict, parent: str | None = None, status="FINISHED",
             metrics=(), params=None) -> str:
        if parent is not None:
            tags = {**tags, "mlflow.parentRunId": parent}
        run = self._call("creating a run", self.client.create_run, self.experiment_id,
                         start_time=start, run_name=name, tags=tags)
        run_id = run.info.run_id
        self._log(run_id, metrics=metrics, params=params)
        self._call("closing a run", self.client.set_terminated, run_id, status=status, end_time=end)
        return run_id

    def log_cell(self, result: CellResult, artifacts=(), then=None) -> None:
        """Log one finished cell (in the background thread when there is one), then call ``then``."""

        def work() -> None:
            self._log_cell(result, artifacts)
            if then is not None:
                then()

        if self._executor is None:
            t0 = time.perf_counter()
            try:
                work()
            finally:
                self.seconds += time.perf_counter() - t0
            return
        self._drain(wait=False)
        artifacts = list(artifacts)
        self._pending.append(self._executor.submit(work))

    def _already_logged(self, result: CellResult) -> bool:
        """A FINISHED run of this cell and spec exists (a killed run logged it, then died
        before writing its row): logging is idempotent, the rerun does not log it twice."""
        runs = self._call(
            "searching the cell's runs", self.client.search_runs, [self.experiment_id],
            f"tags.kind = 'cell' and tags.spec_hash = '{self._common_tags['spec_hash']}' "
            f"and attributes.status = 'FINISHED'", max_results=5000)
        return any(r.info.run_name == result.cell.label for r in runs)

    def _log_cell(self, result: CellResult, artifacts=()) -> None:
        if result.status == "ok" and self._already_logged(result):
            return
        cell = result.cell
        method = self.spec.method(cell.method)
        fingerprint = result.repetitions[0].fingerprint if result.repetitions else ""
        tags = {
            **self._common_tags,
            "kind": "cell",
            "dataset": cell.dataset.key,
            "imbalance_ratio": cell.ratio_label,
            "method": cell.method, "model": cell.model_key,  # model: the model axis (issue 19)
            "loss": method.loss,
            "sampler": method.sampler or "none",
            "status": result.status,
            "dataset_fingerprint": fingerprint,
        }
        if result.reason:
            tags["failure_reason"] = result.reason[:5000]
        if result.repetitions and (method.loss == "tuned_loss" or method.sampler == "tuned_loss"):
            tags["chosen_loss"] = result.repetitions[0].loss
            tags["chosen_sampler"] = result.repetitions[0].sampler or "none"
        parent = self._call("creating a run", self.client.create_run, self.experiment_id,
                            start_time=result.start_ms, run_name=cell.label, tags=tags).info.run_id
        child_tags = {k: tags[k] for k in ("benchmark", "dataset", "imbalance_ratio", "method", "model", "loss", "sampler",
                                           "runner_host", "runner_pid")}
        for t in result.trials:
            curve = [("validation_curve", v, t.start_ms, step) for step, v in enumerate(t.curve)]
            final = [("validation_score", t.value, t.end_ms, 0)] if t.value is not None else []
            self._run(
                f"trial {t.number}" + (f" (repetition {t.repetition})" if t.repetition else ""), t.start_ms, t.end_ms,
                {**child_tags, "kind": "trial", "state": t.state, "stopped_by": t.stopped_by,
                 "tuned_on_repetition": str(t.repetition),
                 **({"fail_reason": t.reason} if t.reason else {})},
                parent=parent, status="FAILED" if t.state == "FAIL" else "FINISHED",
                metrics=curve + final, params=t.params,
            )
        for r in result.repetitions:
            flat = metric_keys(r.metrics)
            self._run(
                f"repetition {r.repetition}", r.start_ms, r.end_ms,
                {**child_tags, "kind": "repetition", "seed": str(r.seed), "dataset_fingerprint": r.fingerprint,
                 "loss": r.loss, "sampler": r.sampler or "none"},
                parent=parent, metrics=[(k, v, r.end_ms, 0) for k, v in flat.items()],
                params={"repetition": r.repetition, "seed": r.seed, "epochs": r.epochs,
                        **{f"threshold_{k}": v for k, v in r.thresholds.items()}},
            )
        summary = []
        if result.repetitions:
            flats = [metric_keys(r.metrics) for r in result.repetitions]
            for name in flats[0]:
                values = np.array([f[name] for f in flats])
                summary += [(f"{name}_mean", values.mean(), result.end_ms, 0),
                            (f"{name}_std", values.std(ddof=1) if len(values) > 1 else 0.0, result.end_ms, 0)]
        if result.best_value is not None:
            summary.append(("best_validation_score", result.best_value, result.end_ms, 0))
        params = {f"best.{k}": v for k, v in result.best_params.items()}
        params.update({f"space.{k}": v for k, v in result.search_space.items()})
        self._log(parent, metrics=summary, params=params)
        if result.repetitions:
            self._log_dataset(parent, cell, result)
        for path in artifacts:
            self._call("uploading an artifact", self.client.log_artifact, parent, str(path))
        self._call("closing a run", self.client.set_terminated, parent,
                   status="FINISHED" if result.status == "ok" else "FAILED", end_time=result.end_ms)

    def _log_dataset(self, run_id: str, cell, result: CellResult) -> None:
        """The prepared data of each repetition as an MLflow dataset input, digest = fingerprint."""
        from mlflow.entities import Dataset, DatasetInput, InputTag

        inputs = []
        for r in result.repetitions:
            source = json.dumps({"dataset": cell.dataset.name, "params": cell.dataset.params,
                                 "imbalance_ratio": cell.ratio_label, "repetition": r.repetition}, sort_keys=True)
            dataset = Dataset(name=f"{cell.dataset.key} ρ={cell.ratio_label} rep {r.repetition}",
                              digest=r.fingerprint, source_type="code", source=source)
            inputs.append(DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "train/validation/test")]))
        self._call("logging the dataset inputs", self.client.log_inputs, run_id, datasets=inputs)

    def finish(self, results_csv: Path | None, summary_text: str, status: str) -> None:
        try:
            self._drain(wait=True)
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
        if self.benchmark_run_id is None:
            return
        t0 = time.perf_counter()
        try:
            self._finish(results_csv, summary_text, status)
        finally:
            self.seconds += time.perf_counter() - t0

    def _finish(self, results_csv: Path | None, summary_text: str, status: str) -> None:
        if results_csv is not None and results_csv.exists():
            self._call("uploading the results table", self.client.log_artifact, self.benchmark_run_id, str(results_csv))
        self._call("uploading the summary", self.client.log_text, self.benchmark_run_id, summary_text, "summary.txt")
        self._call("closing the benchmark run", self.client.set_terminated, self.benchmark_run_id,
                   status=status, end_time=now_ms())


def log_report(uri: str, results_dir: Path, files: list[Path]) -> str | None:
    """Attach report files to the latest benchmark-level run of the results' benchmark; None
    when the store has no such run (a local SQLite store that does not exist is not created)."""
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
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
