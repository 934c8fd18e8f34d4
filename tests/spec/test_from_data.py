"""`run --data`: the built-in spec (CV at the file's own ratio) and bad own data as one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_runner, write_spec

from harness.errors import UserError
from harness.spec import from_data
from harness.spec.schema import EvaluationSpec


def _csv(path: Path, labels, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(len(labels), 2)), columns=["a", "b"])
    frame["y"] = labels
    frame.to_csv(path, index=False)
    return path


def _labels(counts: dict[str, int]) -> list[str]:
    return [label for label, n in counts.items() for _ in range(n)]


def test_spec_is_ten_fold_cv_at_the_natural_ratio(tmp_path):
    spec = from_data.spec_dict(str(_csv(tmp_path / "mine.csv", _labels({"no": 900, "yes": 100}))), "y")
    assert spec["imbalance_ratios"] == ["natural"]
    assert spec["evaluation"] == {"protocol": "cv", "folds": 10, "repetitions": 1}
    assert spec["tuning"] == {"n_trials": from_data.N_TRIALS}
    assert spec["methods"] == from_data.METHODS
    assert spec["datasets"][0]["params"]["positive"] == "yes"


def test_overrides_merge_into_the_sections(tmp_path):
    spec = from_data.spec_dict(str(_csv(tmp_path / "mine.csv", _labels({"no": 900, "yes": 100}))), "y",
                               overrides={"tuning": {"n_trials": 2}, "methods": ["ce", "focal"]})
    assert spec["tuning"] == {"n_trials": 2} and spec["methods"] == ["ce", "focal"]
    assert spec["evaluation"]["protocol"] == "cv"


@pytest.mark.parametrize("n_minority,expected", [(100, (10, 1)), (640, (10, 1)), (50, (5, 2)), (30, (3, 4)),
                                                 (20, (2, 5))])
def test_a_small_minority_gets_fewer_folds_repeated(n_minority, expected):
    assert from_data.cv_plan(n_minority, 10, "f.csv") == expected


def test_too_small_a_minority_for_two_folds_is_refused():
    with pytest.raises(UserError, match="f.csv: 19 rows in the smaller class; at least 20 are needed"):
        from_data.cv_plan(19, 10, "f.csv")


def test_more_than_two_labels_is_the_rarest_against_the_rest(tmp_path):
    path = str(_csv(tmp_path / "three.csv", _labels({"a": 500, "b": 300, "c": 200})))
    spec = from_data.spec_dict(path, "y")
    assert spec["datasets"][0]["params"]["positive"] == "c"
    assert "against the 2 other labels" in spec["description"]
    assert from_data.spec_dict(path, "y", "b")["datasets"][0]["params"]["positive"] == "b"


def test_rarest_label_ties_go_to_the_first_in_sorted_order():
    y, positive = from_data.binary_labels(pd.Series(_labels({"z": 300, "m": 100, "b": 100})), "y", None, "f.csv")
    assert positive == "b" and y.sum() == 100


def test_numeric_labels_match_a_text_positive():
    y, positive = from_data.binary_labels(pd.Series([0] * 80 + [1] * 20), "y", "1", "f.csv")
    assert positive == "1" and y.sum() == 20


@pytest.mark.skipif("protocol" not in EvaluationSpec.model_fields,
                    reason="needs evaluation.protocol: cv in the schema (the cross-validation branch)")
def test_the_schema_accepts_the_built_in_spec(tmp_path):
    spec = from_data.data_spec(str(_csv(tmp_path / "mine.csv", _labels({"no": 900, "yes": 100}))), "y")
    assert spec.evaluation.protocol == "cv" and spec.evaluation.folds == 10 and spec.evaluation.repetitions == 1
    assert spec.imbalance_ratios == ["natural"]


# --- bad own data: one line, exit code 2, nothing written ----------------------------------

def _refused(tmp_path: Path, args: list[str], message: str) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    done = run_runner("run", *args, "--no-tracking", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_one_class_names_the_target_not_positive(tmp_path):
    _csv(tmp_path / "one.csv", ["a"] * 300)
    _refused(tmp_path, ["--data", "one.csv", "--target", "y"],
             "--target: column 'y' has one class ('a', 300 rows); expected two")


def test_rows_without_a_label_are_refused_with_their_count(tmp_path):
    labels = _labels({"no": 270, "yes": 30})
    labels[4] = labels[40] = labels[41] = None
    _csv(tmp_path / "gaps.csv", labels)
    _refused(tmp_path, ["--data", "gaps.csv", "--target", "y"],
             "--target: column 'y' of gaps.csv has 3 of 300 rows without a label (first: data row 5)")


def test_a_positive_that_is_no_label_lists_the_labels(tmp_path):
    _csv(tmp_path / "mine.csv", _labels({"no": 270, "yes": 30}))
    _refused(tmp_path, ["--data", "mine.csv", "--target", "y", "--positive", "Yes"],
             "--positive: 'Yes' is not a label of column 'y'; its labels: 'no' (270 rows), 'yes' (30 rows)")


def test_a_minority_too_small_for_cv_is_refused(tmp_path):
    _csv(tmp_path / "rare.csv", _labels({"no": 290, "yes": 10}))
    _refused(tmp_path, ["--data", "rare.csv", "--target", "y"],
             "rare.csv: 10 rows in the smaller class; at least 20 are needed for 2 test folds with 10 each")


def test_a_spec_file_refuses_rows_without_a_label_too(tmp_path, tiny_spec):
    labels = _labels({"no": 270, "yes": 30})
    labels[7] = None
    _csv(tmp_path / "gaps.csv", labels)
    tiny_spec["datasets"] = [{"name": "csv", "params": {"path": "gaps.csv", "target": "y", "positive": "yes"}}]
    write_spec(tmp_path, tiny_spec)
    done = run_runner("list", "spec.yaml", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "column 'y' of gaps.csv has 1 of 300 rows without a label (first: data row 8)" in done.stderr


# --- the verdict at the end of `run --data` ------------------------------------------------

def _fold_rows(effect: float) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    base = 0.6 + rng.normal(0, 0.03, 10)
    return pd.DataFrame([{"benchmark": "data-mine", "dataset": "csv:mine.csv", "imbalance_ratio": "natural",
                          "model": "mlp", "method": method, "repeat": 0, "fold": k, "n_train": 900, "n_test": 100,
                          "n_test_positive": 10, "valid": True, "calibration": "raw", "metric": "average_precision",
                          "value": base[k] + shift + 0.002 * (-1) ** k, "n_classes": 2}
                         for method, shift in (("ce", 0.0), ("focal", effect)) for k in range(10)])


def test_run_data_prints_the_verdict_last_and_keeps_it(tmp_path, capsys):
    from types import SimpleNamespace

    from harness.cli import commands

    _fold_rows(0.03).to_csv(tmp_path / "results.csv", index=False)
    commands._verdict(SimpleNamespace(results_csv=tmp_path / "results.csv"))
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("1 method compared with ce on 1 metric")
    assert out[1].startswith("on your data, focal beats ce on AP by +0.030 [")
    assert out[-1] == f"verdict: {tmp_path / 'verdict.md'}"
    assert out[1] in (tmp_path / "verdict.md").read_text()


@pytest.mark.skipif("protocol" not in EvaluationSpec.model_fields,
                    reason="needs evaluation.protocol: cv in the schema (the cross-validation branch)")
def test_run_data_end_to_end_ends_with_the_verdict(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.random(600) < 0.2
    frame = pd.DataFrame(rng.normal(size=(600, 3)) + 1.5 * y[:, None], columns=["a", "b", "c"])
    frame.assign(label=np.where(y, "yes", "no")).to_csv(tmp_path / "mine.csv", index=False)
    done = run_runner("run", "--data", "mine.csv", "--target", "label", "--no-tracking", "--storage", "memory",
                      "--quiet", "--n-trials", "1", "--max-epochs", "2", "--methods", "ce,focal", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "results" / "data-mine"
    assert "1 method compared with ce on " in done.stdout
    assert done.stdout.strip().splitlines()[-1].endswith(f"{folder.name}/verdict.md")
    table = pd.read_csv(folder / "results.csv")
    assert set(table["imbalance_ratio"].astype(str)) == {"natural"} and table["fold"].nunique() == 10
