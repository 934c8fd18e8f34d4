"""MLflow as the dashboard: a real `mlflow server` on 127.0.0.1, a tiny benchmark logged to it,
the runs read back, and the UI checked in headless Chromium."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from conftest import TINY_SPEC, _free_port, browser, run_runner, write_spec

from harness.evaluation.calibration import VARIANTS

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _wait_for_text(driver, text: str, timeout: float = 60) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: text in d.find_element(By.TAG_NAME, "body").text)


def _table_from_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Rebuild the long results table from the repetition runs' tags, params and metrics."""
    rows = []
    suffixes = {f"_{v}": v for v in VARIANTS if v != "raw"}
    for _, run in runs[runs["tags.kind"] == "repetition"].iterrows():
        for column, value in run.items():
            if not column.startswith("metrics.") or pd.isna(value):
                continue
            key, calibration = column.removeprefix("metrics."), "raw"
            for suffix, variant in suffixes.items():
                if key.endswith(suffix):
                    key, calibration = key.removesuffix(suffix), variant
            rows.append({"dataset": run["tags.dataset"], "imbalance_ratio": run["tags.imbalance_ratio"],
                         "method": run["tags.method"], "loss": run["tags.loss"], "sampler": run["tags.sampler"],
                         "repetition": int(run["params.repetition"]), "seed": int(run["params.seed"]),
                         "calibration": calibration, "metric": key, "value": float(value)})
    return pd.DataFrame(rows)


def test_runs_on_an_mlflow_server_read_back_and_show_in_abrowser(tmp_path, mlflow_server):
    import mlflow

    spec_path = write_spec(tmp_path, TINY_SPEC)
    proc = run_runner("run", str(spec_path), "--quiet", "--tracking-uri", mlflow_server, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not (tmp_path / "mlflow.db").exists()  # everything went to the server

    # the runs' tags, params and metrics reproduce the results table
    mlflow.set_tracking_uri(mlflow_server)
    experiment = mlflow.get_experiment_by_name("tiny")
    runs = mlflow.search_runs(experiment_ids=[experiment.experiment_id])
    keys = ["dataset", "imbalance_ratio", "method", "loss", "sampler", "repetition", "seed", "calibration", "metric"]
    table = pd.read_csv(tmp_path / "results" / "tiny" / "results.csv", dtype={"imbalance_ratio": str})
    rebuilt = _table_from_runs(runs)
    merged = table[keys + ["value"]].merge(rebuilt, on=keys, how="outer", suffixes=("", "_mlflow"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    assert ((merged["value"] - merged["value_mlflow"]).abs() <= 1e-12 * merged["value"].abs().clip(lower=1)).all()

    parents = runs[runs["tags.kind"] == "cell"]
    assert len(parents) == 4
    parent = parents[parents["tags.mlflow.runName"] == "gauss ρ=10 mlp focal"].iloc[0]
    child = runs[(runs["tags.mlflow.parentRunId"] == parent["run_id"]) & (runs["tags.kind"] == "repetition")].iloc[0]

    from selenium.webdriver.common.by import By

    shots = tmp_path / "screenshots"
    shots.mkdir()
    driver = browser(tmp_path / "profile")
    try:
        driver.get(f"{mlflow_server}/#/experiments/{experiment.experiment_id}/runs")
        for name in parents["tags.mlflow.runName"]:
            _wait_for_text(driver, name)
        driver.save_screenshot(str(shots / "experiment.png"))
        assert "trial 0" not in driver.find_element(By.TAG_NAME, "body").text  # children start folded
        link = driver.find_element(By.XPATH, "//a[normalize-space()='gauss ρ=10 mlp focal']")
        row = link.find_element(By.XPATH, "./ancestor::*[@role='row'][1]")
        row.find_element(By.XPATH, ".//button[contains(@data-component-id, 'runnamecellrenderer')]").click()
        for name in ("trial 0", "trial 2", "repetition 0", "repetition 1"):
            _wait_for_text(driver, name)
        driver.save_screenshot(str(shots / "parent-expanded.png"))

        driver.get(f"{mlflow_server}/#/experiments/{experiment.experiment_id}/runs/{child['run_id']}")
        _wait_for_text(driver, "roc_auc")
        _wait_for_text(driver, child["tags.mlflow.runName"])
        metric = driver.find_element(By.XPATH, "//*[normalize-space(text())='roc_auc']")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", metric)
        time.sleep(0.5)
        driver.save_screenshot(str(shots / "repetition-run.png"))
    finally:
        driver.quit()
    assert all((shots / f).stat().st_size > 10_000 for f in ("experiment.png", "parent-expanded.png", "repetition-run.png"))


def test_an_unreachable_tracking_server_is_one_line_and_exit_2(tmp_path):
    spec_path = write_spec(tmp_path, TINY_SPEC)
    uri = f"http://127.0.0.1:{_free_port()}"
    proc = run_runner("run", str(spec_path), "--tracking-uri", uri, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: tracking store {uri}: cannot be reached")
    assert not (tmp_path / "results").exists()
