"""MLflow tracking: the direct writes into a database store give the very runs MLflow's client
writes, only into a database at a schema revision they were checked against (any other gets the
client, said once); a cell already FINISHED in the store is not logged twice; the mlflow
requirement is bounded to the versions checked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_SPEC

from harness import load_spec, run_benchmark
from harness.tracking import mlflow_tracker
from harness.tracking.mlflow_tracker import MlflowTracker
from harness.tracking.sql import CHECKED_REVISIONS, schema_revision


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    """Cell results of a small run without tracking, and its spec."""
    import yaml

    folder = tmp_path_factory.mktemp("tiny")
    spec_path = folder / "spec.yaml"
    spec_path.write_text(yaml.safe_dump({**TINY_SPEC, "imbalance_ratios": [10], "tuning": {"n_trials": 2}}))
    spec = load_spec(spec_path)
    out = run_benchmark(spec, results_root=folder / "results", tracking_uri=None, progress=False, storage="memory")
    return spec, out.cells


def _log(uri: str, spec, cells, direct: bool) -> pd.DataFrame:
    tracker = MlflowTracker(uri, background=False)
    tracker.start(spec, spec.spec_hash())
    assert tracker._store is not None  # a SQLite store is written directly unless told otherwise
    if not direct:
        tracker._store = None
    for result in cells:
        tracker.log_cell(result)
    tracker.finish(None, "summary", "FINISHED")
    assert tracker.call_seconds > 0
    return _runs(uri, spec)


def _runs(uri: str, spec) -> pd.DataFrame:
    """The cells' runs as MLflow's client reads them back, without what differs between stores."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=[spec.name])
    names = dict(zip(runs["run_id"], runs["tags.mlflow.runName"]))
    runs["parent"] = runs["tags.mlflow.parentRunId"].map(names)
    varying = ["run_id", "experiment_id", "artifact_uri", "tags.mlflow.parentRunId", "start_time", "end_time"]
    runs = runs[runs["tags.kind"] != "benchmark"].drop(columns=varying)
    return runs.sort_values(["parent", "tags.mlflow.runName"], na_position="first").reset_index(drop=True)


def test_direct_writes_equal_the_clients(tmp_path, tiny_results):
    spec, cells = tiny_results
    direct = _log(f"sqlite:///{tmp_path}/direct.db", spec, cells, direct=True)
    client = _log(f"sqlite:///{tmp_path}/client.db", spec, cells, direct=False)
    assert sorted(direct.columns) == sorted(client.columns)
    pd.testing.assert_frame_equal(direct, client[direct.columns])
    trials = direct[direct["tags.kind"] == "trial"]
    assert len(trials) == sum(len(r.trials) for r in cells) and trials["params.focal_gamma"].notna().any()
    assert (direct["status"] == "FINISHED").all()


def test_a_cell_finished_in_the_store_is_not_logged_twice(tmp_path, tiny_results):
    import mlflow

    spec, cells = tiny_results
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    for _ in range(2):
        tracker = MlflowTracker(uri)
        tracker.start(spec, spec.spec_hash())
        tracker.log_cell(cells[0])
        tracker.finish(None, "summary", "FINISHED")
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=[spec.name])
    assert (runs["tags.kind"] == "cell").sum() == 1
    assert Path(f"{tmp_path}/mlflow.db").exists()


def test_two_runners_starting_at_once_share_the_experiment(tmp_path, tiny_results):
    """Two runners started on one spec both find no experiment; the second's create is refused by
    the store (the first made it meanwhile): it takes the first's, instead of failing the run."""
    spec, cells = tiny_results
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    first, second = MlflowTracker(uri, background=False), MlflowTracker(uri, background=False)
    first.start(spec, spec.spec_hash())
    second._open_client()
    real, reads = second.client.get_experiment_by_name, []

    def read(name):  # the second runner's first read came before the first runner's create
        reads.append(name)
        return None if len(reads) == 1 else real(name)

    second.client.get_experiment_by_name = read
    second._start_runs(spec, spec.spec_hash())
    assert len(reads) == 2 and second.experiment_id == first.experiment_id
    for tracker, cell in ((first, cells[0]), (second, cells[1])):
        tracker.log_cell(cell)
        tracker.finish(None, "summary", "FINISHED")
    runs = _runs(uri, spec)
    logged = runs.loc[runs["tags.kind"] == "cell", "tags.mlflow.runName"]
    assert sorted(logged) == sorted(c.cell.label for c in cells[:2])


def test_a_write_another_runner_refused_at_that_moment_is_written_again(tmp_path, tiny_results):
    """The messages a store refuses a concurrent write with (MLflow's own, from two runners logging
    one repetition's dataset at once, and SQLite's lock) are written again; any other error is
    one line naming the store, at once."""
    spec, cells = tiny_results
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracker = MlflowTracker(uri, background=False)
    tracker.start(spec, spec.spec_hash())
    real, calls = tracker.client.log_inputs, []
    refusals = ["(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id, datasets.name, "
                "datasets.digest", "(sqlite3.OperationalError) database is locked"]

    def refused_twice(*args, **kwargs):
        calls.append(args)
        if len(calls) <= len(refusals):
            raise RuntimeError(refusals[len(calls) - 1])
        return real(*args, **kwargs)

    tracker.client.log_inputs = refused_twice
    tracker.log_cell(cells[0])
    tracker.finish(None, "summary", "FINISHED")
    assert len(calls) == 3
    import mlflow

    mlflow.set_tracking_uri(uri)
    cell_run = mlflow.search_runs(experiment_names=[spec.name], filter_string="tags.kind = 'cell'")["run_id"]
    assert len(cell_run) == 1
    inputs = mlflow.MlflowClient(uri).get_run(cell_run.iloc[0]).inputs.dataset_inputs
    assert len(inputs) == len(cells[0].repetitions) > 0

    other, tries = MlflowTracker(uri, background=False), []
    other.start(spec, spec.spec_hash())
    other.client.log_inputs = lambda *a, **k: tries.append(a) or (_ for _ in ()).throw(RuntimeError("no such table"))
    with pytest.raises(mlflow_tracker.TrackingError, match=r"logging the dataset inputs failed: no such table$"):
        other.log_cell(cells[1])
    assert len(tries) == 1
    tries.clear()  # a lock that is never released: a few attempts, then one line
    other.client.log_inputs = lambda *a, **k: tries.append(a) or (_ for _ in ()).throw(RuntimeError(refusals[1]))
    with pytest.raises(mlflow_tracker.TrackingError, match=r"logging the dataset inputs failed: .*database is locked$"):
        other.log_cell(cells[1])
    assert len(tries) == mlflow_tracker._ATTEMPTS


@pytest.fixture
def said(monkeypatch):
    """What the trackers say once per process, forgotten before the test (another test may have said it)."""
    monkeypatch.setattr(mlflow_tracker, "_said", set())


def test_a_fresh_store_is_at_a_checked_revision_and_written_directly(tmp_path, tiny_results, said, capsys):
    """The installed MLflow's schema is one the direct path was checked against: when this fails
    after an MLflow upgrade, check the new version and extend CHECKED_REVISIONS (docs/tracking.md)."""
    spec, _ = tiny_results
    tracker = MlflowTracker(f"sqlite:///{tmp_path}/mlflow.db", background=False)
    tracker.start(spec, spec.spec_hash())
    assert tracker._store is not None
    assert schema_revision(tracker._store) in CHECKED_REVISIONS
    tracker.finish(None, "summary", "FINISHED")
    assert "direct writes were checked against" not in capsys.readouterr().err


def test_an_unknown_revision_is_written_through_the_client_said_once(tmp_path, tiny_results, said, monkeypatch,
                                                                     capsys):
    """A database at a revision the direct path does not know (as a newer MLflow's migrations
    leave it) gets the same runs through MLflow's client, and one line on stderr per process."""
    import sqlite3
    from contextlib import closing

    import mlflow.store.db.utils
    from mlflow import MlflowClient

    from harness.tracking.sql import create_sqlite_store

    spec, cells = tiny_results
    path = tmp_path / "newer.db"
    create_sqlite_store(path, MlflowClient)
    unknown = "0123456789ab"
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("UPDATE alembic_version SET version_num = ?", (unknown,))
    # MLflow opens only a database at its own head: play the newer MLflow whose head this is
    monkeypatch.setattr(mlflow.store.db.utils, "_get_latest_schema_revision", lambda: unknown)
    uri = f"sqlite:///{path}"
    for result in cells, cells[:1]:  # a second tracker in the same process (its cell already logged)
        tracker = MlflowTracker(uri, background=False)
        tracker.start(spec, spec.spec_hash())
        assert tracker._store is None
        for cell in result:
            tracker.log_cell(cell)
        tracker.finish(None, "summary", "FINISHED")
    lines = [line for line in capsys.readouterr().err.splitlines() if "direct writes were checked against" in line]
    assert len(lines) == 1, lines
    assert unknown in lines[0] and all(r in lines[0] for r in CHECKED_REVISIONS) and uri in lines[0]
    fenced = _runs(uri, spec)
    monkeypatch.undo()
    direct = _log(f"sqlite:///{tmp_path}/direct.db", spec, cells, direct=True)
    assert sorted(direct.columns) == sorted(fenced.columns)
    pd.testing.assert_frame_equal(direct, fenced[direct.columns])


def test_a_database_without_a_revision_is_not_written_directly(tmp_path):
    """No ``alembic_version`` table (not a store MLflow migrated): no revision, so not checked."""
    from types import SimpleNamespace

    from sqlalchemy import create_engine

    from harness.tracking.sql import unchecked_schema

    store = SimpleNamespace(engine=create_engine(f"sqlite:///{tmp_path}/bare.db"))
    assert schema_revision(store) is None
    assert "no alembic_version table" in unchecked_schema(store)


def test_the_mlflow_requirement_is_bounded_to_the_checked_versions():
    """pyproject bounds mlflow above (its tables are written directly), the installed version
    satisfies it, and so does every version CHECKED_REVISIONS was checked on."""
    from importlib.metadata import version

    from packaging.requirements import Requirement
    from packaging.version import Version

    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    [req] = [Requirement(r) for r in project["dependencies"] if Requirement(r).name == "mlflow"]
    assert any(s.operator in ("<", "<=", "~=", "==") for s in req.specifier), req
    assert req.specifier.contains(Version(version("mlflow")), prereleases=True), (req, version("mlflow"))
    assert all(req.specifier.contains(Version(v)) for v in CHECKED_REVISIONS.values()), req
    assert not req.specifier.contains(Version("3.18.0")), req  # its migrations end at an unchecked head
