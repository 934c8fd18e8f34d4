"""Scale-out: cells on a real Dask cluster, studies shared through PostgreSQL (or the journal
file), runs on an MLflow tracking server — all on 127.0.0.1."""

from __future__ import annotations

import multiprocessing
from collections import Counter

import optuna
import pandas as pd
import pytest
from conftest import run_runner, write_spec

import runner
from harness import load_spec
from harness.plan.cells import expand
from harness.plan.data import DataProvider
from harness.tuning.study import close_stale, free_slot, open_study, study_name, tune


def _share_study(spec_path: str, storage_url: str, worker: int, barrier) -> int:
    """One of several processes tuning the same cell's study; returns the trials it ran."""
    from harness.tuning.storage import open_storage

    spec = load_spec(spec_path)
    cell = expand(spec)[0]
    prepared = DataProvider(spec).prepared(cell.dataset, cell.ratio, 0)
    storage = open_storage(storage_url, None)
    barrier.wait(timeout=120)  # both start together, so their trials interleave
    study, _ = tune(spec, cell, prepared, storage=storage, shared=worker)
    return sum(1 for t in study.trials if t.user_attrs.get("done") and t.user_attrs.get("worker") == worker)


def _check_two_workers_share_one_study(tmp_path, tiny_spec, storage_url: str) -> None:
    n = 10
    tiny_spec.update(imbalance_ratios=[10], methods=["focal"], tuning={"n_trials": n, "pruner": "none"})
    spec_path = write_spec(tmp_path, tiny_spec)
    spec = load_spec(spec_path)
    cell = expand(spec)[0]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(2)
    with ctx.Pool(2) as pool:
        ran = pool.starmap(_share_study, [(str(spec_path), storage_url, k, barrier) for k in (0, 1)])
    from harness.tuning.storage import open_storage

    storage = open_storage(storage_url, None)
    study = optuna.load_study(study_name=study_name(spec, cell, 0), storage=storage)
    done = [t for t in study.trials if t.user_attrs.get("done")]
    # the cap holds exactly, every budget slot is taken once, and both workers took part
    assert len(done) == n
    assert sorted(t.user_attrs["slot"] for t in done) == list(range(n))
    assert sum(ran) == n and min(ran) >= 1, ran
    # no trial lost: all trials ended, and those outside the budget are the ones that found it full
    assert all(t.state.is_finished() for t in study.trials)
    extra = [t for t in study.trials if not t.user_attrs.get("done")]
    assert all(t.user_attrs.get("surplus") for t in extra) and len(extra) <= 2
    # no trial duplicated: distinct Optuna numbers, and no configuration evaluated twice
    assert len({t.number for t in done}) == n
    configs = Counter(tuple(sorted(t.user_attrs["config"].items())) for t in done)
    assert max(configs.values()) == 1
    # a later pass (what the evaluation task does) finds the budget spent and trains nothing more
    prepared = DataProvider(spec).prepared(cell.dataset, cell.ratio, 0)
    before = len(study.trials)
    _, records = tune(spec, cell, prepared, storage=storage)
    assert len(records) == n and len(optuna.load_study(study_name=study.study_name, storage=storage).trials) == before


def test_two_workers_share_one_study_in_the_journal_file(tmp_path, tiny_spec):
    _check_two_workers_share_one_study(tmp_path, tiny_spec, f"journal:{tmp_path / 'optuna.journal'}")


@pytest.mark.slow
def test_two_workers_share_one_study_on_postgresql(tmp_path, tiny_spec, postgres_url):
    _check_two_workers_share_one_study(tmp_path, tiny_spec, postgres_url)


@pytest.mark.slow
def test_tuning_workers_on_postgresql_from_the_command_line(tmp_path, tiny_spec, postgres_url):
    """`--tuning-workers 2 --jobs 2 --storage postgresql://…`: every cell's study holds exactly
    its budget, and a rerun with --fresh starts the studies over."""
    tiny_spec.update(name="pgtiny", tuning={"n_trials": 6})
    spec_path = write_spec(tmp_path, tiny_spec)
    for _ in range(2):
        proc = run_runner("run", str(spec_path), "--no-tracking", "--quiet", "--fresh", "--jobs", "2",
                          "--tuning-workers", "2", "--storage", postgres_url, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
    spec = load_spec(spec_path)
    for cell in expand(spec):
        study = optuna.load_study(study_name=study_name(spec, cell, 0), storage=postgres_url)
        done = [t for t in study.trials if t.user_attrs.get("done")]
        assert sorted(t.user_attrs["slot"] for t in done) == list(range(6))
        assert {t.user_attrs["worker"] for t in done} <= {0, 1}
    table = pd.read_csv(tmp_path / "results" / "pgtiny" / "results.csv")
    assert len(table.groupby(["imbalance_ratio", "method"])) == 4


def test_budget_slots_follow_trial_order_and_the_cap_is_exact(tmp_path, tiny_spec):
    """Two workers start trials at the same moment with one slot left: the earlier-numbered
    trial gets it, the later finds the budget full; a trial that raised holds no slot."""
    spec = load_spec(write_spec(tmp_path, tiny_spec))
    study = open_study(spec, expand(spec)[0], 0, optuna.storages.get_storage(f"sqlite:///{tmp_path}/s.db"))
    for i in range(3):  # three finished trials of the budget of 5
        trial = study.ask()
        trial.set_user_attr("done", True)
        study.tell(trial, 0.5)
    crashed = study.ask()  # raised before its ``done`` mark: not in the budget
    study.tell(crashed, state=optuna.trial.TrialState.FAIL)
    a, b, c = study.ask(), study.ask(), study.ask()  # all RUNNING at once, on different workers
    assert [free_slot(study, t.number, 5) for t in (a, b, c)] == [3, 4, None]


def test_stale_trials_are_closed_before_shared_tuning(tmp_path, tiny_spec):
    """A trial left RUNNING by a killed worker would hold a budget slot for ever."""
    spec = load_spec(write_spec(tmp_path, tiny_spec))
    cell = expand(spec)[0]
    storage = optuna.storages.get_storage(f"sqlite:///{tmp_path}/s.db")
    study = open_study(spec, cell, 0, storage)
    study.ask()  # RUNNING, its process gone
    close_stale(study)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL]


@pytest.mark.slow
def test_dask_cluster_gives_the_local_results_and_logs_to_the_server(tmp_path, tiny_spec, mlflow_server):
    """A LocalCluster with 2 worker processes and an `mlflow server`: the table equals the
    local run's byte for byte, both workers ran cells, and the runs are on the server."""
    from distributed import Client, LocalCluster

    spec_path = write_spec(tmp_path, tiny_spec)
    proc = run_runner("run", str(spec_path), "--no-tracking", "--quiet", "--results-dir", "local", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        proc = run_runner("run", str(spec_path), "--quiet", "--results-dir", "dask", "--executor", "dask",
                          "--scheduler", cluster.scheduler_address, "--tracking-uri", mlflow_server, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        from harness.running import workers

        used = client.run(lambda: bool(workers._WORKER.get("key")))
        assert len(used) == 2 and all(used.values()), used
    local = (tmp_path / "local" / "tiny" / "results.csv").read_bytes()
    assert (tmp_path / "dask" / "tiny" / "results.csv").read_bytes() == local
    # predictions and figures are written by the runner, beside the table
    assert len(list((tmp_path / "dask" / "tiny" / "plots").glob("*.png"))) == 8
    assert len(list((tmp_path / "dask" / "tiny" / "predictions").glob("*.parquet"))) == 4
    import mlflow

    mlflow.set_tracking_uri(mlflow_server)
    runs = mlflow.search_runs(experiment_names=["tiny"])
    assert (runs["tags.kind"] == "cell").sum() == 4
    assert (runs["tags.kind"] == "repetition").sum() == 8
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "dask"], "scheduler: --executor dask needs --scheduler"),
        (["--scheduler", "tcp://127.0.0.1:1"], "add --executor dask"),
        (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:1", "--jobs", "2"], "jobs: 2 applies to the local executor"),
        (["--tuning-workers", "2", "--storage", "memory"], "storage: 'memory' cannot be shared"),
        (["--tuning-workers", "0"], "tuning_workers: must be at least 1, not 0"),
        (["--storage", "postgresql://nobody@127.0.0.1:1/none"], "storage: cannot open"),
    ],
)
def test_bad_scale_out_options_are_one_line_and_exit_2(workdir, tiny_spec, capsys, args, message):
    spec_path = write_spec(workdir, tiny_spec)
    assert runner.main(["run", str(spec_path), "--no-tracking", "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (workdir / "results" / "tiny" / "results.csv").exists()


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path, tiny_spec):
    spec_path = write_spec(tmp_path, tiny_spec)
    proc = run_runner("run", str(spec_path), "--no-tracking", "--quiet", "--executor", "dask",
                      "--scheduler", "tcp://127.0.0.1:1", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: scheduler: cannot connect to 'tcp://127.0.0.1:1'"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
