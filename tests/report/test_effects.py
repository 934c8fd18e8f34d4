"""The dataset-as-unit comparisons: the maths against independent references (hand-computed
DerSimonian–Laird, statsmodels' combine_effects, baycomp's correlated t-test), and the decision
they feed measured on synthetic tables — no winner on null tables, a planted effect named where
it was planted and nowhere else, an effect inside the ROPE never called better."""

from __future__ import annotations

import baycomp
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from benchmarks.perf import null_tables
from harness.report import decision, effects

NO_EFFECT = lambda model, method, metric: 0.0


def _table(n_datasets: int = 12, *, seed: int = 0, ratios=("2", "20", "100"), effects_of=NO_EFFECT, **kwargs):
    return decision.with_regimes(null_tables.synthetic_table(n_datasets, ratios=ratios, seed=seed,
                                                             effects_of=effects_of, **kwargs))


def test_dersimonian_laird_by_hand():
    # w = 1/v = 100, 50, 25; θ_FE = 37.5/175; Q = 3.714286; C = 175 − 13125/175 = 100;
    # τ² = (Q − 2)/C = 0.01714286; w* = 1/(v + τ²); μ = Σw*θ/Σw* = 0.252398
    theta, v = np.array([0.1, 0.3, 0.5]), np.array([0.01, 0.02, 0.04])
    out = effects.random_effects(theta, v, np.zeros(3, int))
    assert out["tau2"][0] == pytest.approx(0.01714286, rel=1e-6)
    assert out["mu"][0] == pytest.approx(0.252398, rel=1e-5)
    star = 1 / (v + 0.01714286)
    hk = np.sum(star * (theta - 0.252398) ** 2) / (2 * star.sum())
    assert out["se"][0] == pytest.approx(np.sqrt(hk), rel=1e-5)


def test_random_effects_match_statsmodels_on_many_meta_analyses_at_once():
    rng = np.random.default_rng(0)
    sizes = [3, 7, 30, 5]
    theta = rng.normal(0.02, 0.08, sum(sizes))
    v = rng.uniform(1e-4, 3e-3, sum(sizes))
    gid = np.repeat(np.arange(len(sizes)), sizes)
    theta[gid == 3] = 0.02 + rng.normal(0, 0.001, 5)  # homogeneous: DL's τ² estimate is below 0
    out = effects.random_effects(theta, v, gid)
    for g in range(len(sizes)):
        ref = combine_effects(theta[gid == g], v[gid == g], method_re="dl")
        if ref.tau2 > 0:
            assert out["mu"][g] == pytest.approx(ref.mean_effect_re, rel=1e-9)
            assert out["tau2"][g] == pytest.approx(ref.tau2, rel=1e-9)
            assert out["se"][g] == pytest.approx(ref.sd_eff_w_re_hksj, rel=1e-9)
        else:  # statsmodels leaves DL's τ² negative; DerSimonian–Laird truncate it at 0: the fixed effect
            assert out["tau2"][g] == 0
            assert out["mu"][g] == pytest.approx(ref.mean_effect_fe, rel=1e-9)
            assert out["se"][g] == pytest.approx(ref.sd_eff_w_fe_hksj, rel=1e-9)
    assert (out["tau2"] > 0).sum() >= 1 and (out["tau2"] == 0).sum() >= 1


def test_without_any_within_variance_every_dataset_weighs_the_same():
    theta = np.array([0.01, 0.03, -0.01, 0.05])
    out = effects.random_effects(theta, np.full(4, np.nan), np.zeros(4, int))
    assert out["mu"][0] == pytest.approx(theta.mean())
    assert out["se"][0] == pytest.approx(theta.std(ddof=1) / 2)  # a one-sample t over datasets


def _folds(n_repeats: int, n_folds: int, seed: int = 0) -> pd.DataFrame:
    """One dataset at one ratio, ce and focal over repeats × folds of a 10-fold split."""
    rng = np.random.default_rng(seed)
    rows = []
    for repeat in range(n_repeats):
        for fold in range(n_folds):
            base = rng.uniform(0.5, 0.7)
            for method, shift in (("ce", 0.0), ("focal", rng.normal(0.01, 0.02))):
                rows.append({"dataset": "d", "imbalance_ratio": "10", "model": "mlp", "method": method,
                             "loss": method, "calibration": "raw", "metric": "average_precision",
                             "value": base + shift, "repetition": repeat, "repeat": repeat, "fold": fold,
                             "n_classes": 2, "n_train": 900, "n_test": 100, "valid": True})
    return pd.DataFrame(rows)


def test_nadeau_bengio_variance_is_baycomps_correlated_t_test():
    table = _folds(3, 10)
    diffs, _ = effects.loss_differences(effects.prepare(table))
    ds = effects.dataset_effects(diffs)
    ds = ds[ds["scope"] == effects.ALL_RHO]
    v, one_split, fallback = effects.within_variances(ds)
    wide = table.pivot_table(index=["repeat", "fold"], columns="method", values="value")
    mean, var, _ = baycomp.CorrelatedTTest.compute_statistics(wide["ce"].to_numpy(), wide["focal"].to_numpy(), runs=3)
    assert ds["theta"].iloc[0] == pytest.approx(mean)
    assert np.sqrt(v[0]) == pytest.approx(np.sqrt(var))  # (1/30 + 100/900)·s² = (1/n + 1/(k − 1))·s²
    assert not one_split.any() and not fallback.any()


def test_one_split_and_unknown_sizes_fall_back_and_say_so():
    holdout = ["repeat", "fold", "n_train", "n_test", "valid"]  # a table from before the fold columns
    table = pd.concat([_folds(1, 1), _folds(3, 1, seed=1).assign(dataset="e")]).drop(columns=holdout)
    diffs, _ = effects.loss_differences(effects.prepare(table))
    ds = effects.dataset_effects(diffs)
    ds = ds[ds["scope"] == effects.ALL_RHO].set_index("dataset")
    v, one_split, fallback = effects.within_variances(ds.reset_index())
    assert one_split.tolist() == [True, False] and fallback.all()
    # the one-split dataset borrows the other's moderated s² (its own, with one dataset) at J = 1
    assert v[0] == pytest.approx((1 + effects.TEST_OVER_TRAIN) * ds.loc["e", "s2"])


def _claims(comp: pd.DataFrame) -> pd.DataFrame:
    return comp[comp["verdict"].isin(["better", "worse"])]


@pytest.mark.parametrize("seed", range(3))
def test_pure_noise_names_no_winner_on_one_table(seed):
    comp = effects.compare(_table(12, seed=seed)).table
    assert _claims(comp).empty, _claims(comp)


def test_null_tables_name_no_winner():
    table = _table(15, seed=5, effects_of=null_tables._realistic_effects)  # real effects, permuted away
    false, _, size = null_tables.false_winners(table, 20, seed=100)
    assert size > 500 and false <= 1  # at most 1 of 20 (the target is ≤ 5 %)


@pytest.mark.slow
def test_null_tables_name_no_winner_in_95_percent_of_200():
    table = _table(40, seed=6, effects_of=null_tables._realistic_effects)
    false, _, _ = null_tables.false_winners(table, 200, seed=1000)
    assert false <= 10


def test_null_table_permutes_whole_fits_within_their_blocks():
    table = _table(3, seed=1, effects_of=null_tables._realistic_effects)
    null = effects.null_table(table, seed=3)
    block = ["dataset", "imbalance_ratio", "repeat", "fold", "metric", "calibration"]
    before = table.groupby(block)["value"].apply(sorted)
    assert before.equals(null.groupby(block)["value"].apply(sorted))  # the same values in every block
    assert not np.array_equal(table["method"], null["method"])
    fit = ["dataset", "imbalance_ratio", "repeat", "fold", "model", "method"]
    orig = table.set_index(fit + ["metric"])["value"]
    moved = null.set_index(fit + ["metric"])["value"]
    # a fit's AP and ROC AUC travel together: the (AP, AUC) pairs of a block are the same set
    pairs = lambda t: sorted(zip(t.xs("average_precision", level="metric"), t.xs("roc_auc", level="metric")))
    assert pairs(orig) == pairs(moved)


def _entry(comp, family, scope, method="focal", metric="average_precision"):
    return comp[(comp["family"] == family) & (comp["scope"] == scope) & (comp["method"] == method)
                & (comp["metric"] == metric) & (comp["question"] == "loss")].iloc[0]


def test_a_planted_effect_of_a_few_mdes_is_named_in_its_regime_only():
    table = _table(20, seed=2, noise=0.4)
    mde = _entry(effects.compare(table).table, "mlp", "ρ ≥ 50")["mde"]
    effect = effects.ROPE + 4 * mde
    assert effect < 3 * effects.ROPE  # so the mean over the three ratios stays inside the ROPE
    planted = effects.planted_table(table, {"model": "mlp", "rho": "ρ ≥ 50"}, effect, "average_precision",
                                    method="focal")
    comp = effects.compare(planted).table
    named = _claims(comp)
    assert len(named) == 1, named
    row = named.iloc[0]
    assert (row["family"], row["scope"], row["method"], row["metric"], row["verdict"]) == (
        "mlp", "ρ ≥ 50", "focal", "average_precision", "better")
    assert row["mu"] == pytest.approx(effect, abs=3 * row["se"])
    table_md = decision.decision_table(comp[(comp["question"] == "loss") & (comp["task"] == "binary")])
    entry = table_md.set_index("regime").loc["binary · mlp · ρ ≥ 50", "ranking"]
    assert entry.startswith("**focal**: AP +0.0")


def test_an_effect_inside_the_rope_everywhere_is_never_called_better():
    table = _table(20, seed=3)
    planted = effects.planted_table(table, lambda t: np.ones(len(t), bool), 0.4 * effects.ROPE,
                                    "average_precision", method="focal")
    comp = effects.compare(planted).table
    assert _claims(comp).empty
    pooled = _entry(comp, "mlp", effects.ALL_RHO)
    assert pooled["mu"] == pytest.approx(0.4 * effects.ROPE, abs=3 * pooled["se"])
    assert pooled["verdict"] == "equivalent" if pooled["mde"] < effects.ROPE else "cannot resolve"


def test_lower_is_better_metrics_count_a_drop_as_a_gain():
    table = _table(12, seed=4)
    planted = effects.planted_table(table, {"model": "mlp"}, 0.05, "ece", method="weighted_ce")
    row = _entry(effects.compare(planted).table, "mlp", effects.ALL_RHO, "weighted_ce", "ece")
    assert row["mu"] == pytest.approx(0.05, abs=0.01) and row["verdict"] == "better"
    assert planted.loc[(planted["method"] == "weighted_ce") & (planted["metric"] == "ece"), "value"].mean() < \
        table.loc[(table["method"] == "weighted_ce") & (table["metric"] == "ece"), "value"].mean()


def test_too_few_datasets_get_no_verdict():
    comp = effects.compare(_table(4, seed=0)).table
    assert (comp["verdict"] == "too few").all() and (comp["datasets"] <= 4).all()


def test_invalid_saturated_and_missing_are_left_out_and_counted():
    table = _table(6, seed=7)
    first = table["dataset"] == table["dataset"].iloc[0]
    table.loc[first & (table["method"] == "smote") & (table["fold"] == 0), "valid"] = False
    auc = (table["dataset"] == "d001") & (table["imbalance_ratio"] == "2") & (table["metric"] == "roc_auc")
    table.loc[auc & (table["model"] == "mlp"), "value"] = 0.995
    failed = (table["dataset"] == "d002") & (table["imbalance_ratio"] == "20") & (table["method"] == "focal")
    table = table[~(failed & (table["model"] == "lightgbm"))]
    evidence = effects.compare(table)
    counts = evidence.counts
    assert counts["invalid fold results"] >= 3  # smote's fold 0 at every ratio of the first dataset
    assert counts["saturated blocks"] == 1  # mlp's ROC AUC block of d001 at ρ = 2
    metrics = table.loc[table["dataset"] == "d002", "metric"].nunique()
    assert counts["blocks without the method"] == metrics  # lightgbm focal at d002 ρ = 20
    ds = evidence.datasets
    auc_rows = ds[(ds["family"] == "mlp") & (ds["metric"] == "roc_auc") & (ds["dataset"] == "d001")
                  & (ds["scope"] == effects.ALL_RHO)]
    assert (auc_rows["ratios"] == 2).all()  # the saturated ratio is out
    text = decision.left_out_text(counts)
    assert "flagged invalid" in text and "saturated dataset×ratio×metric blocks" in text


def test_ensembles_answer_the_model_question_once():
    comp = effects.compare(_table(6, seed=8)).table
    loss, model = comp[comp["question"] == "loss"], comp[comp["question"] == "model"]
    assert effects.ENSEMBLE not in set(loss["family"])
    assert not loss["method"].isin(["balanced_random_forest", "random_forest"]).any()
    assert set(model["baseline"]) == {"mlp · ce", "ensemble · random_forest", "ensemble · bagging"}
    against = model[model["baseline"] == "mlp · ce"]
    assert set(against["method"]) == {"lightgbm · ce", "ensemble · balanced_random_forest", "ensemble · easy_ensemble",
                                      "ensemble · random_forest", "ensemble · bagging"}


def test_a_holdout_table_without_fold_columns_still_decides():
    table = _table(8, seed=9, folds=1, repeats=3).drop(columns=["repeat", "fold", "n_train", "n_test",
                                                                 "n_test_positive", "valid"])
    evidence = effects.compare(table)
    assert evidence.counts["fold values without n_test/n_train"] > 0
    assert "n_test/n_train = 0.25" in decision.left_out_text(evidence.counts)
    assert (evidence.table["c_fallback"] == evidence.table["datasets"]).all()
    assert _claims(evidence.table).empty


def test_valid_reads_booleans_their_text_and_missing_as_valid():
    column = pd.Series([True, False, "False", "true", None, np.nan, 0, 1], dtype=object)
    assert effects._valid(column).tolist() == [True, False, False, True, True, True, False, True]


def test_a_planted_effect_takes_a_callable_filter_whose_mask_pandas_hands_out_read_only():
    table = pd.DataFrame({"method": ["focal", "ce", "focal"], "metric": ["average_precision"] * 3,
                          "model": ["mlp"] * 3, "value": [0.5, 0.5, 0.5]})
    out = effects.planted_table(table, lambda t: t["model"] == "mlp", 0.1, "average_precision", method="focal")
    assert out["value"].tolist() == [0.6, 0.5, 0.6] and table["value"].tolist() == [0.5] * 3
