"""The whole slice on a tiny spec: tuning, evaluation, MLflow runs and the results table."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ROOT, run_runner, write_spec

import runner
from harness.evaluation.calibration import VARIANTS
from harness.metrics.binary import available
from harness.store.results import COLUMNS

THRESHOLD = [n for n, m in available().items() if m.kind == "threshold"]
# every metric, plus each threshold metric at the validation-chosen threshold (Gaussian data:
# the true posterior is known, so true_calibration_error is there too)
METRICS = list(available()) + [f"{n}_val_threshold" for n in THRESHOLD]
ISSUE_2_METRICS = ["roc_auc", "average_precision", "accuracy", "ece", "brier", "log_loss"]


def _mlflow_runs(uri: str, experiment: str) -> pd.DataFrame:
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.search_runs(experiment_names=[experiment])


def test_tiny_spec_end_to_end_with_mlflow(workdir, tiny_spec, capsys):
    spec_path = write_spec(workdir, tiny_spec)
    assert runner.main(["run", str(spec_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "gauss" in out and "average_precision" in out and "±" in out

    table = pd.read_csv(workdir / "results" / "tiny" / "results.csv")
    assert list(table.columns) == COLUMNS
    # ratios × methods × repetitions × calibration variants × metrics
    assert len(table) == 2 * 2 * 2 * len(VARIANTS) * len(METRICS)
    assert set(table["metric"]) == set(METRICS)
    assert set(table["calibration"]) == set(VARIANTS)
    assert table["value"].notna().all()
    counts = table.groupby(["imbalance_ratio", "method", "calibration"]).size()
    assert (counts == 2 * len(METRICS)).all()
    # predictions and figures beside the table
    out = workdir / "results" / "tiny"
    preds = pd.read_parquet(out / "predictions" / "gauss__rho10__mlp__focal.parquet")
    assert sorted(preds["repetition"].unique()) == [0, 1]
    assert preds.groupby("repetition").size().nunique() == 1  # same test size in each repetition
    assert {"y_true", "logit", "prob_raw", "prob_closed_form", "posterior"} <= set(preds.columns)
    assert len(list((out / "plots").glob("*_tuning.png"))) == 4  # optimisation history and importances
    assert len(list((out / "plots").glob("*.png"))) == 8  # and reliability / precision-recall
    # each repetition's data is the same for every method (paired comparisons)
    fp = table.groupby(["imbalance_ratio", "repetition"])["dataset_fingerprint"].nunique()
    assert (fp == 1).all()

    import mlflow

    runs = _mlflow_runs("sqlite:///mlflow.db", "tiny")
    parents = runs[runs["tags.kind"] == "cell"]
    assert len(parents) == 4
    assert set(parents["tags.mlflow.runName"]) == {f"gauss ρ={r} mlp {m}" for r in (1, 10) for m in ("ce", "focal")}
    for _, parent in parents.iterrows():
        children = runs[runs["tags.mlflow.parentRunId"] == parent["run_id"]]
        assert sorted(children["tags.kind"]) == ["repetition"] * 2 + ["trial"] * 3
        assert parent["tags.dataset_fingerprint"]
        assert parent["tags.spec_hash"]
        assert pd.notna(parent["metrics.roc_auc_mean"])
        # repetition runs carry exactly the table's values
        reps = children[children["tags.kind"] == "repetition"]
        for _, rep in reps.iterrows():
            rows = table[(table["method"] == parent["tags.method"])
                         & (table["imbalance_ratio"].astype(str) == parent["tags.imbalance_ratio"])
                         & (table["seed"] == int(rep["tags.seed"]))]
            for _, row in rows.iterrows():
                key = row["metric"] if row["calibration"] == "raw" else f"{row['metric']}_{row['calibration']}"
                assert rep[f"metrics.{key}"] == pytest.approx(row["value"], rel=1e-12)
        if parent["tags.method"] == "focal":
            assert "params.best.focal_gamma" in parent and pd.notna(parent["params.best.focal_gamma"])
        assert pd.notna(parent["metrics.ece_closed_form_mean"])
        artifacts = mlflow.MlflowClient().list_artifacts(parent["run_id"])
        assert {a.path.rsplit(".", 1)[1] for a in artifacts} == {"png", "parquet", "csv", "json"}
        # how flat the tuning objective was at its top, and which parameters mattered
        assert parent["metrics.tuning_top5_gap"] >= 0 and pd.notna(parent["metrics.importance.lr"])
        # trial children: their params and tuning value (parallel coordinates); curves in trials.csv
        trials = children[children["tags.kind"] == "trial"]
        assert trials.loc[trials["tags.state"] == "COMPLETE", "metrics.validation_score"].notna().all()
        if parent["tags.method"] == "focal":
            assert trials["params.focal_gamma"].notna().all()
        curves = pd.read_csv(mlflow.artifacts.download_artifacts(run_id=parent["run_id"], artifact_path="trials.csv"))
        assert sorted(curves["trial"]) == sorted(int(n.split()[1]) for n in trials["tags.mlflow.runName"])
        assert curves["validation_curve"].map(lambda c: len(json.loads(c))).min() >= 1
    assert (runs["tags.kind"] == "benchmark").sum() == 1
    assert (runs["status"] == "FINISHED").all()


def test_same_spec_and_seed_give_identical_results(workdir, tiny_spec):
    spec_path = write_spec(workdir, tiny_spec)
    for out in ("a", "b"):
        assert runner.main(["run", str(spec_path), "--no-tracking", "--quiet", "--results-dir", out]) == 0
    a = (workdir / "a" / "tiny" / "results.csv").read_bytes()
    b = (workdir / "b" / "tiny" / "results.csv").read_bytes()
    assert a == b
    assert not (workdir / "mlflow.db").exists()  # tracking off writes no store

    tiny_spec["seed"] = 4
    write_spec(workdir, tiny_spec)
    assert runner.main(["run", str(spec_path), "--no-tracking", "--quiet", "--results-dir", "c"]) == 0
    assert (workdir / "c" / "tiny" / "results.csv").read_bytes() != a


@pytest.mark.slow
def test_jobs_2_gives_the_same_table_as_jobs_1(workdir, tiny_spec):
    spec_path = write_spec(workdir, tiny_spec)
    for jobs, out in ((1, "one"), (2, "two")):
        assert runner.main(["run", str(spec_path), "--no-tracking", "--quiet", "--results-dir", out,
                            "--jobs", str(jobs)]) == 0
    assert (workdir / "one" / "tiny" / "results.csv").read_bytes() == (workdir / "two" / "tiny" / "results.csv").read_bytes()
    assert len(list((workdir / "two" / "tiny" / "plots").glob("*.png"))) == 8


def test_list_prints_cells_without_running(workdir, tiny_spec, capsys):
    spec_path = write_spec(workdir, tiny_spec)
    assert runner.main(["list", str(spec_path)]) == 0
    out = capsys.readouterr().out
    assert "tiny: 4 cells" in out
    assert out.count("gauss") == 4
    assert list(workdir.iterdir()) == [spec_path]


def test_tracking_uri_flag_and_env(workdir, tiny_spec, monkeypatch):
    tiny_spec.update(imbalance_ratios=[10], methods=["ce"], tuning={"n_trials": 1}, evaluation={"repetitions": 1})
    spec_path = write_spec(workdir, tiny_spec)
    assert runner.main(["run", str(spec_path), "--quiet", "--tracking-uri", f"sqlite:///{workdir}/flag.db"]) == 0
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workdir}/env.db")
    assert runner.main(["run", str(spec_path), "--quiet", "--fresh"]) == 0
    assert not (workdir / "mlflow.db").exists()
    for db in ("flag.db", "env.db"):
        runs = _mlflow_runs(f"sqlite:///{workdir}/{db}", "tiny")
        assert (runs["tags.kind"] == "cell").sum() == 1


@pytest.mark.slow
def test_smoke_benchmark_from_the_command_line(tmp_path):
    """What `make bench-ci` runs. Its core (issue 2): Gaussian data at ρ = 1, 10, 100 with CE,
    weighted CE and focal — 9 parent runs with trial and seed children, and 3 ratios × 3 methods
    × 2 seeds × 6 metrics; around it, real data (digits) and a sampler, every metric and variant."""
    proc = run_runner("run", str(ROOT / "benchmarks" / "smoke.yaml"), "--quiet",
                      "--baseline", str(ROOT / "results" / "baselines" / "smoke.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "gate PASSED" in proc.stdout
    table = pd.read_csv(tmp_path / "results" / "smoke" / "results.csv", dtype={"imbalance_ratio": str})
    cells = table[["dataset", "imbalance_ratio", "model", "method"]].drop_duplicates()
    # MLP: gaussian at 3 ratios, yeast3 and gaussian-4class at 2 (ratio 100 is unreachable, skipped);
    # one LightGBM cell and one ensemble cell
    assert len(cells) == 3 * 4 + 2 * 4 + 2 * 4 + 2
    assert set(table.loc[table["model"] == "ensemble", "loss"]) == {"none"}
    mlp = table[table["model"] == "mlp"]
    gauss = mlp[(mlp["dataset"] == "gaussian-8d") & mlp["method"].isin(["ce", "weighted_ce", "focal"])]
    core = gauss[(gauss["calibration"] == "raw") & gauss["metric"].isin(ISSUE_2_METRICS)]
    assert len(core) == 3 * 3 * 3 * 6  # ratios × methods × 3 folds × metrics
    binary = table[table["n_classes"] == 2]
    per_cell = binary.groupby(["dataset", "imbalance_ratio", "model", "method", "repetition"]).size()
    assert per_cell.min() >= (len(VARIANTS) - 1) * len(METRICS)  # every metric for every variant
    multi = table[table["n_classes"] == 4]
    assert set(multi["calibration"]) == {"raw", "temperature", "closed_form", "vector_scaling", "logit_adjusted"}

    runs = _mlflow_runs(f"sqlite:///{tmp_path}/mlflow.db", "smoke")
    parents = runs[runs["tags.kind"] == "cell"]
    assert len(parents) == 30 and set(parents["tags.model"]) == {"mlp", "lightgbm", "ensemble"}
    assert set(parents.loc[parents["tags.dataset"] == "gaussian-4class", "tags.task"]) == {"multiclass"}
    core_parents = parents[(parents["tags.dataset"] == "gaussian-8d") & (parents["tags.model"] == "mlp")
                           & parents["tags.method"].isin(["ce", "weighted_ce", "focal"])]
    assert len(core_parents) == 9
    for run_id in parents["run_id"]:
        kinds = runs.loc[runs["tags.mlflow.parentRunId"] == run_id, "tags.kind"].value_counts()
        assert kinds.get("trial") == 8 and kinds.get("repetition") == 3  # one child run per fold


def test_device_auto_runs_where_there_is_no_gpu_and_cuda_is_refused(workdir, tiny_spec, capsys):
    import torch

    tiny_spec.update(imbalance_ratios=[10], methods=["focal"], tuning={"n_trials": 2}, evaluation={"repetitions": 1})
    tiny_spec["training"]["device"] = "auto"
    spec_path = write_spec(workdir, tiny_spec)
    assert runner.main(["run", str(spec_path), "--no-tracking", "--quiet"]) == 0
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: 'cuda' is accepted here")
    tiny_spec["training"]["device"] = "cuda"
    write_spec(workdir, tiny_spec)
    capsys.readouterr()
    assert runner.main(["run", str(spec_path), "--no-tracking", "--quiet", "--results-dir", "other"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: training.device: 'cuda', but torch sees no CUDA device") and err.count("\n") == 1
    assert not (workdir / "other").exists()
