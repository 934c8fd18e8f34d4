"""MLflow tracking: the direct writes into a database store give the very runs MLflow's client
writes, and a cell already FINISHED in the store is not logged twice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_SPEC

from harness import load_spec, run_benchmark
from harness.tracking.mlflow_tracker import MlflowTracker


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
    import mlflow

    tracker = MlflowTracker(uri, background=False)
    tracker.start(spec, spec.spec_hash())
    assert tracker._store is not None  # a SQLite store is written directly unless told otherwise
    if not direct:
        tracker._store = None
    for result in cells:
        tracker.log_cell(result)
    tracker.finish(None, "summary", "FINISHED")
    assert tracker.call_seconds > 0
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
