"""benchmarks/multiclass_models.yaml, made small: multi-class data on every model family
(LightGBM's multi-class objectives, the MLP, an imbalanced-learn ensemble and its plain
counterpart) through the whole pipeline, into one results table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import write_spec

import runner
from harness.evaluation.calibration_multiclass import VARIANTS as MC_VARIANTS
from harness.metrics import multiclass as metrics_multiclass
from harness.store.results import read_table

SPEC = Path(__file__).resolve().parents[2] / "benchmarks" / "multiclass_models.yaml"


def _small() -> dict:
    """The committed spec on sklearn/wine, 2 trials, 2 folds, short training, three of its methods."""
    spec = yaml.safe_load(SPEC.read_text())
    spec.update(name="mcmodels_small", datasets=[{"name": "sklearn/wine"}],
                methods=["ce", spec["methods"][3], spec["methods"][4]],  # easy_ensemble, random_forest
                training={"max_epochs": 5, "batch_size": 64, "patience": 2},
                tuning={**spec["tuning"], "n_trials": 2},
                evaluation={**spec["evaluation"], "folds": 2})
    spec["models"] = [{**spec["models"][0], "max_rounds": 15}, spec["models"][1]]
    return spec


@pytest.mark.slow
def test_multiclass_data_runs_on_every_model_family(workdir):
    spec = _small()
    assert [m["name"] for m in spec["models"]] == ["lightgbm", "mlp"]
    assert runner.main(["run", str(write_spec(workdir, spec)), "--no-tracking", "--storage", "memory", "--quiet"]) == 0
    table = read_table(workdir / "results" / "mcmodels_small")
    assert set(table["n_classes"]) == {3} and set(table["metric"]) == set(metrics_multiclass.DEFAULT) - {"true_calibration_error"}
    cells = set(zip(table["model"], table["method"]))
    assert cells == {("lightgbm", "ce"), ("mlp", "ce"), ("ensemble", "easy_ensemble"), ("ensemble", "random_forest")}
    for model in ("lightgbm", "mlp"):
        assert set(table.loc[table["model"] == model, "calibration"]) == set(MC_VARIANTS)
    ensembles = table[table["model"] == "ensemble"]
    assert set(ensembles["calibration"]) == set(MC_VARIANTS) - {"closed_form"} and set(ensembles["loss"]) == {"none"}
    raw = table[(table["calibration"] == "raw") & (table["metric"] == "balanced_accuracy")]
    assert len(raw) == 4 * 2 and np.isfinite(raw["value"]).all()
    assert (raw.groupby(["model", "method"])["value"].mean() > 0.8).all()  # wine is easy for every family
