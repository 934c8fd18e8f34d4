"""Killed at any point (SIGKILL, in a subprocess), rerun with the same command: the final table
equals an uninterrupted run's, finished cells are skipped, and orphaned MLflow runs are closed."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import TINY_SPEC, run_runner, write_spec

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reference")
    spec_path = write_spec(workdir, TINY_SPEC)
    proc = run_runner("run", str(spec_path), "--quiet", "--no-tracking", cwd=workdir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return (workdir / "results" / "tiny" / "results.csv").read_bytes()


@pytest.mark.parametrize("fault", ["trial:5", "repetition:3", "write:2", "write_results:2"])
def test_killed_run_resumes_to_the_uninterrupted_table(tmp_path, reference, fault):
    spec_path = write_spec(tmp_path, TINY_SPEC)
    killed = run_runner("run", str(spec_path), "--quiet", "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db",
                        cwd=tmp_path, env={"IMBALANCE_BENCH_FAULT": fault})
    assert killed.returncode == -9, killed.stderr[-2000:]  # SIGKILL: no clean-up ran
    rerun = run_runner("run", str(spec_path), "--quiet", "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db",
                       cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert (tmp_path / "results" / "tiny" / "results.csv").read_bytes() == reference
    assert not list((tmp_path / "results" / "tiny").glob(".results.csv.*"))  # no temporary left behind

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    runs = mlflow.search_runs(experiment_names=["tiny"])
    assert not (runs["status"] == "RUNNING").any()  # the killed run's open runs were closed as KILLED
    finished = runs[(runs["tags.kind"] == "cell") & (runs["status"] == "FINISHED")]
    # every cell is tracked exactly once as finished: the table only lists tracked cells
    assert sorted(finished["tags.mlflow.runName"]) == sorted(f"gauss ρ={r} mlp {m}" for r in (1, 10) for m in ("ce", "focal"))


def test_fresh_starts_over(tmp_path):
    spec_path = write_spec(tmp_path, TINY_SPEC)
    table = tmp_path / "results" / "tiny" / "results.csv"
    assert run_runner("run", str(spec_path), "--quiet", "--no-tracking", cwd=tmp_path).returncode == 0
    first = pd.read_csv(table)
    again = run_runner("run", str(spec_path), "--quiet", "--no-tracking", cwd=tmp_path)
    assert "resuming: 4 of 4 cells already finished" in again.stderr
    fresh = run_runner("run", str(spec_path), "--quiet", "--no-tracking", "--fresh", cwd=tmp_path)
    assert fresh.returncode == 0 and "resuming" not in fresh.stderr
    redone = pd.read_csv(table)
    # every cell again, once: 4 cells × the rows of one cell, and the same values (same seeds)
    assert len(redone) == len(first) and len(first) % 4 == 0 and first.groupby("method").size().nunique() == 1
    pd.testing.assert_series_equal(redone["value"], first["value"])


def test_two_runners_on_one_spec_do_every_cell_exactly_once(tmp_path):
    import os
    import subprocess
    import sys
    import time

    from conftest import ROOT

    spec = {**TINY_SPEC, "imbalance_ratios": [1, 5, 10]}
    ref_dir, shared = tmp_path / "reference", tmp_path / "shared"
    ref_dir.mkdir()
    shared.mkdir()
    assert run_runner("run", str(write_spec(ref_dir, spec)), "--quiet", "--no-tracking", cwd=ref_dir).returncode == 0
    spec_path = write_spec(shared, spec)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    # output to files, not pipes: a runner blocked on a full pipe nobody reads would stall the
    # other, which waits for the cells the first one holds
    logs = [(open(shared / f"out{k}.txt", "w+"), open(shared / f"err{k}.txt", "w+")) for k in range(2)]
    procs = [subprocess.Popen([sys.executable, str(ROOT / "runner.py"), "run", str(spec_path), "--quiet"],
                              cwd=shared, env=env, stdout=out, stderr=err, text=True) for out, err in logs]
    deadline = time.monotonic() + 480  # alone it takes about 40 s; CI runs it beside other tests
    try:
        for p in procs:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # say what each runner was doing, not only that one hung
        for p in procs:
            p.kill()
            p.wait()
    outputs = []
    for out, err in logs:
        out.seek(0)
        err.seek(0)
        outputs.append((out.read(), err.read()))
        out.close()
        err.close()
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outputs]
    # a complete, uncorrupted table: the same bytes as one runner alone
    assert (shared / "results" / "tiny" / "results.csv").read_bytes() == (ref_dir / "results" / "tiny" / "results.csv").read_bytes()

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{shared}/mlflow.db")
    runs = mlflow.search_runs(experiment_names=["tiny"])
    cells = runs[runs["tags.kind"] == "cell"]
    assert (cells["status"] == "FINISHED").all()
    assert cells["tags.mlflow.runName"].value_counts().to_dict() == {
        f"gauss ρ={r} mlp {m}": 1 for r in (1, 5, 10) for m in ("ce", "focal")}  # every cell exactly once
    done = sum(int(o[0].split(" cells in ")[0].rsplit("\n", 1)[-1]) for o in outputs)
    assert done == 6  # the two runners split the work, each cell computed once
