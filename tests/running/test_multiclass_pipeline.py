"""Multi-class data through the whole pipeline (issue #18): spec, data, tuning, evaluation,
results, figures, report; the per-task rules of harness.metrics.per_task; bad input refused early."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import write_spec

import runner
from harness.evaluation.calibration_multiclass import VARIANTS as MC_VARIANTS
from harness.methods import samplers
from harness.metrics import multiclass as metrics_multiclass
from harness.metrics import per_task
from harness.plan.checks import parse_spec
from harness.plan.resolve import method_for, method_of
from harness.space import Fixed
from harness.store.results import read_table

MC_SPEC = {
    "name": "tinymc",
    "seed": 1,
    "datasets": [{"name": "synthetic/gaussian_multiclass", "label": "g4",
                  "params": {"n_samples": 1600, "n_classes": 4, "n_features": 4}}],
    "imbalance_ratios": [4],
    "methods": ["ce", "focal", "random_under"],
    "model": {"name": "mlp", "hidden_sizes": [8]},
    "training": {"max_epochs": 4, "batch_size": 128, "patience": 2},
    "tuning": {"n_trials": 2, "batch_trials": 2},
    "evaluation": {"repetitions": 2},
}


def _spec(**changes) -> dict:
    spec = {**MC_SPEC, **changes}
    return {k: v for k, v in spec.items() if v is not None}


def test_tiny_multiclass_spec_end_to_end(workdir):
    assert runner.main(["run", str(write_spec(workdir, MC_SPEC)), "--no-tracking", "--quiet"]) == 0
    out = workdir / "results" / "tinymc"
    table = read_table(out)
    assert set(table["n_classes"]) == {4}
    assert set(table["metric"]) == set(metrics_multiclass.DEFAULT)  # every multi-class metric, nothing binary
    assert set(table["calibration"]) == set(MC_VARIANTS)  # isotonic stands for vector_scaling
    ce = table[table["method"] == "ce"]
    assert set(ce["calibration"]) == set(MC_VARIANTS)
    focal_tce = table[(table["method"] == "focal") & (table["metric"] == "true_calibration_error")]
    assert {"raw", "closed_form"} <= set(focal_tce["calibration"])  # the closed-form question is measurable
    assert focal_tce["value"].between(0, 1).all()
    predictions = pd.read_parquet(out / "predictions" / "g4__rho4__mlp__focal.parquet")
    assert {f"prob_raw_{k}" for k in range(4)} <= set(predictions.columns)
    assert {f"posterior_{k}" for k in range(4)} <= set(predictions.columns)
    assert len(list((out / "plots").glob("*.png"))) == 6  # top-label reliability and per-class PR don't crash
    assert runner.main(["report", str(out), "--no-tracking"]) == 0
    assert "# Multi-class datasets" in (out / "report.md").read_text()


def test_metric_and_variant_counterparts():
    spec = parse_spec(MC_SPEC)
    assert per_task.tuning_metrics(spec, 4) == ["average_precision_macro"]
    assert per_task.tuning_metrics(spec, 2) == ["average_precision"]
    assert per_task.variants(spec, 4) == list(MC_VARIANTS)
    assert per_task.evaluation_metrics(spec, 4) == metrics_multiclass.DEFAULT
    listed = parse_spec(_spec(evaluation={"metrics": ["average_precision", "ece", "accuracy"]}))
    assert per_task.evaluation_metrics(listed, 4) == ["average_precision_macro", "top_label_ece", "accuracy"]
    assert per_task.evaluation_metrics(listed, 2) == ["average_precision", "ece", "accuracy"]
    for binary, multi in metrics_multiclass.COUNTERPARTS.items():
        assert per_task.higher_is_better(binary) == per_task.higher_is_better(multi)


def test_the_binary_default_written_out_means_every_metric_of_the_task():
    """A run's spec.json writes every setting, so a published spec lists the binary default (with
    gmean, which has no multi-class form); read back (``--against``, a re-run of spec.json) it
    means what leaving the metrics out means, not a refusal of the multi-class sets."""
    from harness.metrics import binary as binary_metrics
    from harness.plan.checks import problems

    written = parse_spec(_spec(evaluation={"metrics": list(binary_metrics.DEFAULT)}))
    assert "gmean" in binary_metrics.DEFAULT and per_task.metric_name("gmean", 4) is None
    assert per_task.evaluation_metrics(written, 4) == metrics_multiclass.DEFAULT
    assert per_task.evaluation_metrics(written, 2) == list(binary_metrics.DEFAULT)
    assert problems(written, written.datasets[0], 4) is None
    narrowed = parse_spec(_spec(evaluation={"metrics": ["gmean", "accuracy"]}))
    assert problems(narrowed, narrowed.datasets[0], 4) == (
        f"evaluation.metrics: 'gmean' is not a multiclass metric, but dataset {narrowed.datasets[0].key} has 4 classes")


def test_focal_alpha_is_not_tuned_on_multiclass_data():
    method = method_of(parse_spec(MC_SPEC), "focal")
    assert method_for(method, 2) is method
    multi = method_for(method, 4)
    assert multi.full_space["focal_alpha"] == Fixed(None)
    assert "focal_gamma" in multi.full_space and not isinstance(multi.full_space["focal_gamma"], Fixed)


def test_profile_is_part_of_the_dataset_identity_and_a_binary_spec_hash_is_unchanged():
    a = parse_spec(_spec(datasets=[{**MC_SPEC["datasets"][0], "profile": "step"}])).datasets[0]
    b = parse_spec(_spec(datasets=[{**MC_SPEC["datasets"][0], "profile": "long_tailed"}])).datasets[0]
    assert a.identity != b.identity and "profile=step" in a.identity
    plain = parse_spec(MC_SPEC)
    assert "profile" not in plain.model_dump()["datasets"][0]  # left out: the dump (and hash) as before


@pytest.mark.parametrize("name", ["random_over", "smote", "random_under"])
def test_multiclass_samplers_apply_the_balance_per_class(name):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2, 3], [200, 80, 30, 12])
    X = rng.normal(size=(y.size, 3))
    params = {f"{name}_balance": 0.5, f"{name}_k_neighbors": 5}
    _, y_res = samplers.resample(name, params, X, y, seed=0)
    counts, after = np.bincount(y), np.bincount(y_res)
    expected = (np.rint(counts - 0.5 * (counts - counts.min())) if name == "random_under"
                else np.rint(counts + 0.5 * (counts.max() - counts)))
    assert after.tolist() == expected.astype(int).tolist()


def test_old_tables_read_as_binary(tmp_path):
    path = tmp_path / "results.csv"
    pd.DataFrame({"benchmark": ["b"], "dataset": ["d"], "imbalance_ratio": ["1"], "method": ["ce"], "loss": ["ce"],
                  "sampler": ["none"], "repetition": [0], "seed": [1], "calibration": ["raw"],
                  "metric": ["ece"], "value": [0.1]}).to_csv(path, index=False)
    assert read_table(path)["n_classes"].tolist() == [2]


def _csv(tmp_path, counts: dict[str, int]) -> str:
    rng = np.random.default_rng(0)
    labels = np.repeat(list(counts), list(counts.values()))
    frame = pd.DataFrame(rng.normal(size=(labels.size, 3)), columns=["a", "b", "c"])
    frame["label"] = labels
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _bad(workdir, capsys, spec: dict) -> str:
    code = runner.main(["run", str(write_spec(workdir, spec)), "--no-tracking", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert not (workdir / "results").exists()  # nothing written
    assert len(err.splitlines()) == 1, err
    return err


MC_ENTRY = MC_SPEC["datasets"][0]
BINARY_ENTRY = {"name": "synthetic/gaussian", "params": {"n_samples": 2000, "n_features": 4}}


@pytest.mark.parametrize("changes, words", [
    ({"datasets": [{**MC_ENTRY, "profile": "zipf"}]}, ["profile", "zipf"]),
    ({"datasets": [{**MC_ENTRY, "minority_fraction": 1.5}]}, ["minority_fraction", "1.5"]),
    ({"datasets": [{**MC_ENTRY, "minority_fraction": 0}]}, ["minority_fraction"]),
    ({"datasets": [{**BINARY_ENTRY, "profile": "step"}]}, ["profile", "binary", "synthetic/gaussian"]),
    ({"datasets": [{**MC_ENTRY, "profile": "natural"}]}, ["natural", "imbalance_ratio"]),
    ({"imbalance_ratios": [40]}, ["class", "largest reachable ratio"]),
    ({"datasets": [BINARY_ENTRY], "tuning": {"metric": "top_label_ece"}}, ["tuning.metric", "top_label_ece"]),
    ({"evaluation": {"metrics": ["average_precision", "gmean"]}}, ["evaluation.metrics", "gmean", "g4"]),
    ({"datasets": [BINARY_ENTRY], "evaluation": {"calibration": ["raw", "vector_scaling"]}}, ["vector_scaling", "binary"]),
    ({"tuning": {"search_space": {"focal_alpha": 0.25}}}, ["focal_alpha", "g4"]),
])
def test_bad_multiclass_input_is_one_line_exit_2_nothing_written(workdir, capsys, changes, words):
    err = _bad(workdir, capsys, _spec(**changes))
    for word in words:
        assert word in err, err


def test_csv_with_a_positive_label_and_a_profile_is_refused(workdir, capsys):
    path = _csv(workdir, {"x": 300, "y": 150, "z": 100})
    entry = {"name": "csv", "params": {"path": path, "target": "label", "positive": "z"}, "profile": "step"}
    err = _bad(workdir, capsys, _spec(datasets=[entry]))
    assert "positive" in err and "profile" in err


def test_csv_with_a_class_of_one_sample_is_refused(workdir, capsys):
    path = _csv(workdir, {"x": 300, "y": 150, "z": 100, "w": 1})
    err = _bad(workdir, capsys, _spec(datasets=[{"name": "csv", "params": {"path": path, "target": "label"}}]))
    assert "class 0" in err and "1 sample" in err  # classes in sorted label order: w is class 0


def test_csv_without_positive_is_multiclass(workdir):
    import datasets

    path = _csv(workdir, {"x": 300, "y": 150, "z": 100})
    data = datasets.load("csv", {"path": path, "target": "label"}, seed=0)
    assert data.n_classes == 3 and np.bincount(data.y).tolist() == [300, 150, 100]


@pytest.mark.parametrize("name", [n for n, m in metrics_multiclass.available().items() if m.fast is not None])
def test_multiclass_fast_forms_equal_the_metrics(name):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 500)
    prob = rng.dirichlet(np.ones(4), 500)
    prob[:50] = np.round(prob[:50], 1)  # ties
    prob /= prob.sum(axis=1, keepdims=True)
    metric = metrics_multiclass.get(name)
    assert metric.monitor(y, prob) == pytest.approx(metric(y, prob), abs=1e-12)
