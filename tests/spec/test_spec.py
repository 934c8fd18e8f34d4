"""Bad specs stop before any work: one line naming the culprit, exit code 2, nothing written."""

from __future__ import annotations

import pytest
from conftest import run_runner, write_spec

import runner


def _mutate(spec: dict, path: str, value) -> dict:
    keys = path.split(".")
    node = spec
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[keys[-1]] = value
    return spec


BAD = [
    ("n_trails", 5, "n_trails: unknown key; known keys here:"),
    ("training.device", "gpu", "training.device: Input should be 'cpu', 'cuda' or 'auto'"),
    ("tuning.batch_trials", 0, "tuning.batch_trials: Input should be greater than or equal to 1"),
    ("tuning.n_trails", 5, "tuning.n_trails: unknown key; known keys here: batch_trials, metric, n_startup_trials, n_trials, per_repetition"),
    ("methods", ["ce", "focall"], "methods: unknown method 'focall' (did you mean focal, focal_flsd, dual_focal?); "
                                  "known: asl, balanced_softmax, brier, ce, ce_drop_easy, class_balanced_focal, dual_focal, focal"),
    ("tuning.search_space", {"focal_gama": 2.0}, "spec.yaml: tuning.search_space.focal_gama: unknown parameter (did you mean focal_gamma"),
    ("tuning.search_space", {"focal_gamma": [3.0, 1.0]}, "focal_gamma: expected a range with low < high, got an empty or inverted range [3.0, 1.0]"),
    ("tuning.search_space", {"focal_gamma": [2.0, 2.0]}, "empty or inverted range"),
    ("tuning.search_space", {"lr": [0.0, 0.1]}, "lr: expected a range above 0 (log scale)"),
    ("tuning.search_space", {"focal_gamma": -0.5}, "focal_gamma: expected values in [0, inf], got -0.5"),
    ("tuning.search_space", {"focal_alpha": 1.5}, "focal_alpha: expected values in [0, 1], got 1.5"),
    ("tuning.search_space", {"focal_alpha": [0.2, 1.2]}, "focal_alpha: expected values in [0, 1], got [0.2, 1.2]"),
    ("tuning.search_space", {"lr": -1}, "lr: expected values in [0, inf], got -1"),
    ("tuning.tuned_loss", {"losses": ["ce", "focl"]}, "unknown loss 'focl' (did you mean focal"),
    ("tuning.tuned_loss", {"samplers": ["none", "smot"]}, "unknown sampler 'smot' (did you mean smote"),
    ("methods", ["ce", "focal+smot"], "methods: unknown sampler 'smot' (did you mean smote"),
    ("datasets", [{"name": "synthetic/gausian"}], "datasets[0]: dataset: unknown name 'synthetic/gausian' (did you mean synthetic/gaussian"),
    ("datasets", [{"name": "synthetic/gaussian", "params": {"n_sample": 9}}], "unknown parameter 'n_sample'"),
    ("imbalance_ratios", [0.5], "imbalance_ratios[0]"),
    ("imbalance_ratios", [100000], "largest reachable ratio is"),
    ("tuning.n_trials", -1, "tuning.n_trials: Input should be greater than or equal to 0, got -1"),
    ("tuning.n_trials", 0, "tuning.n_trials: 0 (no tuning) needs every parameter fixed, but method 'ce' (methods[0]) "
     "on model 'mlp' tunes lr, weight_decay"),
    ("datasets", [{"name": "csv", "params": {"path": "missing.csv", "target": "y", "positive": 1}}], "csv: path: file 'missing.csv' does not exist"),
    ("datasets", [{"name": "keel/abalone19"}], "no ratio is reachable"),
    ("datasets", [{"name": "sklearn/wine"}], "sklearn/wine: imbalance ratio 10.0 with profile 'long_tailed' leaves 4 samples of class 0 in test"),
    ("evaluation.repetitions", 0, "evaluation.repetitions"),
    ("evaluation.metrics", ["roc_auc", "auroc"], "evaluation.metrics: unknown metric 'auroc'; known: roc_auc"),
    ("tuning.metric", "f2", "tuning.metric"),
    ("model.name", "resnet", "model.name"),
    ("evaluation.calibration", ["raw", "platt"], "unknown calibration variant 'platt'"),
    ("tuning.metric", "true_calibration_error", "unknown tuning metric"),
    ("split.test", 0.5, "expected train + validation + test = 1"),
    ("split.max_rows", 0, "split.max_rows: Input should be greater than or equal to 1, got 0"),
    ("model.only", {"task": "binaryy"}, "only.task: Input should be 'binary' or 'multiclass', got 'binaryy'"),
]


@pytest.mark.parametrize("path,value,message", BAD, ids=[b[0] + "=" + str(b[1]) for b in BAD])
def test_bad_spec_one_line_exit_2_nothing_written(workdir, tiny_spec, capsys, path, value, message):
    spec_path = write_spec(workdir, _mutate(tiny_spec, path, value))
    before = sorted(p.name for p in workdir.iterdir())
    code = runner.main(["run", str(spec_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert message in err
    assert sorted(p.name for p in workdir.iterdir()) == before  # no mlflow.db, no results/


def test_unreadable_and_malformed_yaml(workdir, capsys):
    assert runner.main(["run", str(workdir / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    (workdir / "bad.yaml").write_text("name: x\nmethods: [ce\n")
    assert runner.main(["list", str(workdir / "bad.yaml")]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_bad_spec_from_the_command_line_exits_2(workdir, tiny_spec):
    spec_path = write_spec(workdir, _mutate(tiny_spec, "methods", ["ce", "focall"]))
    proc = run_runner("run", str(spec_path), cwd=workdir)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {spec_path}: methods: unknown method 'focall' (did you mean focal, focal_flsd, "
                               "dual_focal?); known: ")
    assert "Traceback" not in proc.stderr
    assert not (workdir / "mlflow.db").exists() and not (workdir / "results").exists()
