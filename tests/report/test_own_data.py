"""The verdict on one dataset's folds (harness.report.own_data) against baycomp's correlated
t-test and Student's t computed here, on synthetic per-fold tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from baycomp import CorrelatedTTest
from scipy import stats as sps

from harness.report import own_data


def _table(effects: dict[str, float], *, folds: int = 10, repeats: int = 1, noise: float = 0.005,
           metric: str = "average_precision", seed: int = 0, n: int = 1000) -> pd.DataFrame:
    """Per-fold rows: ce's scores vary by fold (shared by every method); each other method adds
    its effect and its own zero-mean noise of standard deviation ``noise``."""
    rng = np.random.default_rng(seed)
    base = 0.6 + rng.normal(0, 0.03, folds * repeats)
    rows = []
    for method, effect in {"ce": 0.0, **effects}.items():
        extra = np.zeros(folds * repeats)
        if method != "ce" and folds * repeats > 1:
            draws = rng.normal(0, 1, folds * repeats)
            extra = noise * (draws - draws.mean()) / draws.std(ddof=1)  # mean exactly 0, sd exactly noise
        for j, value in enumerate(base + effect + extra):
            rows.append({"benchmark": "data-x", "dataset": "csv:x.csv", "imbalance_ratio": "natural", "model": "mlp",
                         "method": method, "repeat": j // folds, "fold": j % folds, "n_train": n - n // folds,
                         "n_test": n // folds, "n_test_positive": n // folds // 10, "valid": True,
                         "calibration": "raw", "metric": metric, "value": value, "n_classes": 2})
    return pd.DataFrame(rows)


def _scores(table: pd.DataFrame, method: str) -> np.ndarray:
    return table[table["method"] == method].sort_values(["repeat", "fold"])["value"].to_numpy()


# --- the posterior ------------------------------------------------------------------------------

@pytest.mark.parametrize("folds,repeats", [(10, 1), (5, 3)])
def test_probabilities_are_baycomps_correlated_t_test(folds, repeats):
    table = _table({"focal": 0.012}, folds=folds, repeats=repeats, noise=0.01)
    got = own_data.verdicts(table, "average_precision").iloc[0]
    left, rope, right = CorrelatedTTest.probs(_scores(table, "ce"), _scores(table, "focal"), rope=0.01, runs=repeats)
    assert got["rho"] == pytest.approx(1 / folds)
    assert (got["p_worse"], got["p_equivalent"], got["p_better"]) == pytest.approx((left, rope, right), abs=1e-12)


def test_interval_and_probabilities_are_student_t_with_the_nadeau_bengio_scale():
    rng = np.random.default_rng(5)
    diff, rho, rope = rng.normal(0.015, 0.01, 12), 0.12, 0.01
    got = own_data.compare(diff, rho, rope)
    J = len(diff)
    scale = np.sqrt((1 / J + rho / (1 - rho)) * np.var(diff, ddof=1))
    t = sps.t(J - 1, loc=diff.mean(), scale=scale)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((t.ppf(0.025), t.ppf(0.975)))
    assert got["p_better"] == pytest.approx(t.sf(rope))
    assert got["p_worse"] == pytest.approx(t.cdf(-rope))
    assert got["p_equivalent"] == pytest.approx(t.cdf(rope) - t.cdf(-rope))
    assert got["mde"] == pytest.approx(rope + sps.t.ppf(0.95, J - 1) * scale)


def test_rho_comes_from_the_baselines_fold_sizes():
    table = _table({"random_under": 0.0})
    table.loc[table["method"] == "ce", ["n_train", "n_test"]] = [750, 250]
    table.loc[table["method"] == "random_under", "n_train"] = 180  # a resampled training set: not ρ's
    assert own_data.verdicts(table, "average_precision")["rho"].iloc[0] == pytest.approx(0.25)


# --- the rule -----------------------------------------------------------------------------------

def test_a_planted_large_effect_beats_ce():
    table = _table({"focal": 0.03, "smote": 0.0})
    v = own_data.verdicts(table, "average_precision").set_index("method")
    assert v.loc["focal", "verdict"] == "better" and v.loc["focal", "diff"] == pytest.approx(0.03)
    line = own_data.verdict_lines(table, "average_precision")[0]
    assert line.startswith("on your data, focal beats ce on AP by +0.030 [+0.0") and "P(better) = 1.00" in line


def test_a_planted_loss_is_worse():
    lines = own_data.verdict_lines(_table({"smote": -0.04}), "average_precision")
    assert lines[0].startswith("on your data, smote is worse than ce on AP by -0.040 [")


@pytest.mark.parametrize("folds,expected", [
    (50, "no method differs from ce by more than ±0.01 on AP (P(equivalent) ≥ 0.95 for each of the 2 methods)"),
    (3, "cannot resolve ±0.01 on AP with 3 test folds for focal +0.000 ["),
])
def test_same_methods_are_called_equivalent_only_with_enough_folds(folds, expected):
    lines = own_data.verdict_lines(_table({"focal": 0.0, "smote": 0.0}, folds=folds, noise=0.008), "average_precision")
    assert lines[0].startswith(expected), lines


def test_identical_scores_are_equivalent():
    table = _table({"focal": 0.0}, noise=0.0)
    assert own_data.verdicts(table, "average_precision")["p_equivalent"].iloc[0] == 1.0


def test_tiny_n_cannot_resolve_and_says_what_it_could():
    table = _table({"focal": 0.02}, folds=3, noise=0.02)
    v = own_data.verdicts(table, "average_precision").iloc[0]
    assert v["verdict"] == "cannot resolve" and v["ci_high"] - v["ci_low"] > 0.02
    line = own_data.verdict_lines(table, "average_precision")[0]
    assert line.startswith("cannot resolve ±0.01 on AP with 3 test folds for focal +0.020 [")
    assert line.endswith(f"only a difference of about {v['mde']:.2f} or more could be called here")


def test_one_fold_cannot_resolve():
    v = own_data.verdicts(_table({"focal": 0.05}, folds=1), "average_precision").iloc[0]
    assert v["verdict"] == "cannot resolve" and np.isnan(v["p_better"])


def test_a_narrow_interval_across_the_ropes_edge_is_undecided():
    table = _table({"focal": 0.01}, folds=20, noise=0.004)
    assert own_data.verdicts(table, "average_precision")["verdict"].iloc[0] == "undecided"
    assert own_data.verdict_lines(table, "average_precision")[0].startswith(
        "undecided on AP (interval across the edge of ±0.01): focal +0.010 [")


def test_lower_is_better_metrics_flip():
    table = _table({"focal": -0.03, "smote": 0.03}, metric="ece")
    v = own_data.verdicts(table, "ece").set_index("method")
    assert v.loc["focal", "verdict"] == "better" and v.loc["focal", "diff"] == pytest.approx(-0.03)
    assert v.loc["smote", "verdict"] == "worse"
    assert v.loc["focal", "ci_low"] < v.loc["focal", "ci_high"] < 0
    lines = own_data.verdict_lines(table, "ece")
    assert lines[0].startswith("on your data, focal beats ce on ECE by -0.030 [") and "(lower is better)" in lines[0]


def test_invalid_folds_are_left_out_and_counted():
    table = _table({"focal": 0.03})
    clean = own_data.verdicts(table[~((table["method"] == "focal") & (table["fold"] == 4))], "average_precision")
    planted = table.copy()
    at = (planted["method"] == "focal") & (planted["fold"] == 4)
    planted.loc[at, "value"], planted["valid"] = 0.0, ~at  # an absurd score the run marked invalid
    got = own_data.verdicts(planted, "average_precision")
    assert got["folds"].iloc[0] == 9 and got["left_out"].iloc[0] == 1
    assert got["p_better"].iloc[0] == pytest.approx(clean["p_better"].iloc[0])
    assert got["diff"].iloc[0] == pytest.approx(clean["diff"].iloc[0])
    assert own_data.verdict_lines(planted, "average_precision")[-1] == (
        "left out on AP (a fold marked invalid, or unscored): focal 1 of 10 folds")
    planted["valid"] = planted["valid"].map(str)  # as text, the way a hand-made table may hold it
    assert own_data.verdicts(planted, "average_precision")["folds"].iloc[0] == 9


def test_ensembles_are_compared_within_the_model():
    table = _table({"easy_ensemble": 0.03})
    table.loc[table["method"] == "easy_ensemble", "model"] = "ensemble"
    v = own_data.verdicts(table, "average_precision")
    assert list(v["method"]) == ["easy_ensemble"] and v["model"].iloc[0] == "mlp"


def test_a_rope_of_zero_is_refused():
    with pytest.raises(ValueError, match="rope: expected a width > 0, got 0"):
        own_data.verdicts(_table({"focal": 0.0}), "average_precision", rope=0)


# --- the summary, the section, the file ---------------------------------------------------------

def test_the_summary_counts_the_comparisons():
    table = pd.concat([_table({"focal": 0.03, "smote": 0.0}, metric=m) for m in ("average_precision", "roc_auc")])
    lines = own_data.summary_lines(table)
    assert lines[0] == ("2 methods compared with ce on 2 metrics (model mlp): 4 comparisons at P ≥ 0.95, so even "
                        "if no method differed, up to about 0.2 chance decisions among them are plausible")
    assert any(line.startswith("on your data, focal beats ce on ROC AUC") for line in lines)


def test_no_section_without_folds_or_with_two_datasets():
    table = _table({"focal": 0.03})
    assert own_data.section(table)[0] == "## On your data"
    assert own_data.section(table.drop(columns=["repeat", "fold"])) == []
    assert own_data.section(pd.concat([table, table.assign(dataset="other")])) == []


def test_write_verdict_reads_the_results_folder(tmp_path):
    _table({"focal": 0.03}).to_csv(tmp_path / "results.csv", index=False)
    lines, path = own_data.write_verdict(tmp_path)
    assert path == tmp_path / "verdict.md"
    assert any(line.startswith("on your data, focal beats ce on AP") for line in lines)
    assert "- on your data, focal beats ce on AP" in path.read_text()


def test_write_verdict_without_folds_says_so(tmp_path):
    _table({"focal": 0.03}).drop(columns=["repeat", "fold"]).to_csv(tmp_path / "results.csv", index=False)
    lines, _ = own_data.write_verdict(tmp_path)
    assert lines == [(f"no verdict: {tmp_path.name} holds no per-fold scores of one dataset "
                      "(they come from evaluation.protocol: cv)")]
