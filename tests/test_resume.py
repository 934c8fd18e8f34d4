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


@pytest.mark.parametrize("fault", ["trial:5", "repetition:3", "write:2"])
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
    assert sorted(finished["tags.mlflow.runName"]) == sorted(f"gauss ρ={r} {m}" for r in (1, 10) for m in ("ce", "focal"))


def test_fresh_starts_over(tmp_path):
    spec_path = write_spec(tmp_path, TINY_SPEC)
    assert run_runner("run", str(spec_path), "--quiet", "--no-tracking", cwd=tmp_path).returncode == 0
    again = run_runner("run", str(spec_path), "--quiet", "--no-tracking", cwd=tmp_path)
    assert "resuming: 4 of 4 cells already finished" in again.stderr
    fresh = run_runner("run", str(spec_path), "--quiet", "--no-tracking", "--fresh", cwd=tmp_path)
    assert fresh.returncode == 0 and "resuming" not in fresh.stderr
    assert len(pd.read_csv(tmp_path / "results" / "tiny" / "results.csv")) > 0
