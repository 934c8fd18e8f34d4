"""MLflow database stores: setting up a SQLite store, and writing a cell's runs straight
into a database store in one transaction.

MLflow's client writes a run with three calls, each several ORM transactions (about 20 ms of
CPU per run); a cell of the default spec is some 24 runs. For a database store (SQLite,
PostgreSQL, MySQL) the same rows — ``runs``, ``tags``, ``params``, ``metrics``,
``latest_metrics``, exactly as MLflow's own ``create_run`` / ``log_batch`` /
``set_terminated`` write them — go in as five bulk inserts through the store's own session
and MLflow's own table definitions: about 1 ms per run, and a cell's children appear all at
once or not at all. Any other store (an ``mlflow server``), or a schema this code does not
recognise, uses the client (:class:`harness.tracking.mlflow_tracker.MlflowTracker` falls back by itself).

"Recognise" is checked twice: MLflow's table definitions must have the columns written
(``_COLUMNS``), and the database's schema revision (alembic's ``alembic_version``, which
MLflow keeps at its own migrations' head) must be one this code was checked against
(``CHECKED_REVISIONS``). See docs/tracking.md.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from harness.tracking.runs import RunPlan, finite, fmt_param

if TYPE_CHECKING:
    from mlflow import MlflowClient

# the columns written, per table: a store whose tables lack one of them is not written directly
_COLUMNS = {
    "runs": {"run_uuid", "name", "source_type", "source_name", "entry_point_name", "user_id", "status",
             "start_time", "end_time", "source_version", "lifecycle_stage", "artifact_uri", "experiment_id"},
    "tags": {"key", "value", "run_uuid"},
    "params": {"key", "value", "run_uuid"},
    "metrics": {"key", "value", "timestamp", "step", "is_nan", "run_uuid"},
    "latest_metrics": {"key", "value", "timestamp", "step", "is_nan", "run_uuid"},
}


# MLflow's tracking schema revisions (alembic heads) the direct path was checked against, each
# with the MLflow version it was checked on: ``test_direct_writes_equal_the_clients`` passed on
# it. A database at any other revision (a newer MLflow's migrations) is written through the
# client. To add one, see docs/tracking.md.
CHECKED_REVISIONS = {"dc11669786a5": "3.17.2"}


def sqlite_path(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def create_sqlite_store(path: Path, client_class) -> None:
    """Create a new SQLite store under a temporary name and link it into place, so that a
    run killed during MLflow's schema migrations never leaves a half-made store behind."""
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


def use_wal(path: Path) -> None:
    """Put a SQLite store in write-ahead-log mode (kept in the file): a commit appends to the
    log instead of rewriting a rollback journal, and readers do not block the writer. A store
    another process holds open stays as it is."""
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(path, timeout=5)) as con:
        con.execute("PRAGMA journal_mode=WAL")


def sync_normal(client) -> None:
    """``synchronous=NORMAL`` on the store's SQLite connections: in WAL mode a commit survives
    a killed process without an fsync each (only a power cut may lose the last ones)."""
    engine = getattr(getattr(getattr(client, "_tracking_client", None), "store", None), "engine", None)
    if engine is None or engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    if not event.contains(engine, "connect", _synchronous_normal):  # MLflow shares a store per URI
        event.listen(engine, "connect", _synchronous_normal)
        engine.dispose()  # connections opened before the listener are replaced by ones that use it


def _synchronous_normal(connection, _record) -> None:
    connection.execute("PRAGMA synchronous=NORMAL")


def database_store(client: MlflowClient):
    """The client's store where it is an MLflow database store with the expected tables, else None."""
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    if store is None or not hasattr(store, "ManagedSessionMaker"):
        return None
    try:
        from mlflow.store.tracking.dbmodels import models
    except ImportError:
        return None
    tables = {t.__table__.name: t.__table__ for t in (models.SqlRun, models.SqlTag, models.SqlParam,
                                                        models.SqlMetric, models.SqlLatestMetric)}
    if any(name not in tables or not cols <= set(tables[name].c.keys()) for name, cols in _COLUMNS.items()):
        return None
    return store


def schema_revision(store) -> str | None:
    """The schema revision of the store's database (``alembic_version.version_num``; several
    heads joined by commas), None where it has no such table or it cannot be read."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with store.engine.connect() as connection:
            heads = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return None
    return ",".join(sorted(heads)) or None


def unchecked_schema(store) -> str | None:
    """Why the direct path must not write to ``store``: its database's schema revision is not
    one it was checked against (a sentence naming the revision found and the known ones); None
    where it is."""
    revision = schema_revision(store)
    if revision in CHECKED_REVISIONS:
        return None
    found = f"schema revision {revision!r}" if revision else "no schema revision (no alembic_version table)"
    known = ", ".join(f"{r} (MLflow {v})" for r, v in CHECKED_REVISIONS.items())
    return f"the database has {found}, not one the direct writes were checked against: {known}"


def _latest(metrics: list[dict]) -> list[dict]:
    """Per key, the value MLflow shows as the run's metric: the largest (step, timestamp, value)."""
    latest: dict[str, dict] = {}
    for m in metrics:
        old = latest.get(m["key"])
        if old is None or (m["step"], m["timestamp"], m["value"]) > (old["step"], old["timestamp"], old["value"]):
            latest[m["key"]] = m
    return list(latest.values())


def run_rows(plan: RunPlan, run_id: str, experiment_id: str, artifact_location: str,
             parent: str | None = None) -> dict[str, list[dict]]:
    """The rows MLflow's client would write for ``plan``: its run, tags (with its name and
    parent), params (as strings, as MLflow stores them), metrics and latest metrics."""
    from mlflow.utils.uri import append_to_uri_path

    terminated = plan.status != "RUNNING"
    tags = {**plan.tags, "mlflow.runName": plan.name, **({"mlflow.parentRunId": parent} if parent else {})}
    metrics = [{"key": k, "value": v, "timestamp": ts, "step": step, "is_nan": False, "run_uuid": run_id}
               for k, v, ts, step in finite(plan.metrics)]
    run = {"run_uuid": run_id, "name": plan.name, "source_type": "UNKNOWN", "source_name": "",
           "entry_point_name": "", "user_id": plan.tags.get("mlflow.user", "unknown"), "status": plan.status,
           "start_time": plan.start_ms, "end_time": plan.end_ms if terminated else None, "source_version": "",
           "lifecycle_stage": "active", "experiment_id": int(experiment_id),
           "artifact_uri": append_to_uri_path(artifact_location, run_id, "artifacts")}
    return {
        "runs": [run],
        "tags": [{"key": k, "value": str(v), "run_uuid": run_id} for k, v in tags.items()],
        "params": [{"key": k, "value": fmt_param(v)[:6000], "run_uuid": run_id} for k, v in plan.params.items()],
        "metrics": metrics,
        "latest_metrics": _latest(metrics),
    }


def insert_cell(store, experiment_id: str, artifact_location: str, parent: RunPlan,
                children: list[RunPlan]) -> str:
    """Insert a parent run and its children in one transaction; returns the parent's run id."""
    from mlflow.store.tracking.dbmodels import models
    from sqlalchemy import insert

    parent_id = uuid.uuid4().hex
    rows = run_rows(parent, parent_id, experiment_id, artifact_location)
    for plan in children:
        for table, more in run_rows(plan, uuid.uuid4().hex, experiment_id, artifact_location, parent_id).items():
            rows[table] += more
    with store.ManagedSessionMaker() as session:
        for model in (models.SqlRun, models.SqlTag, models.SqlParam, models.SqlMetric, models.SqlLatestMetric):
            if rows[model.__table__.name]:
                session.execute(insert(model.__table__), rows[model.__table__.name])
    return parent_id
