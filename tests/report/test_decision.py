"""The decision table: a planted winner is named in its regime and nowhere else, pure noise names
no winner, the family rule on hand-made verdicts, and the fast signed-rank posterior (its
secondary column) is baycomp's own on the same inputs."""

from __future__ import annotations

import re

import baycomp
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

import runner
from harness.report import bayes, decision, effects, stats
from harness.report import sections as report_sections

METRICS = {"average_precision": 1.0, "roc_auc": 1.0, "ece": -1.0, "log_loss": -1.0}


def _table(effect, seed: int, *, noise: float, n_datasets: int = 12, ratios=("2", "100"), reps: int = 2,
           extra: dict | None = None) -> pd.DataFrame:
    """Long results where ``effect(method, ratio)`` shifts a method's ranking metrics up and its
    ECE and log loss down (better), plus Gaussian noise of sd ``noise`` per repetition."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_datasets):
        for ratio in ratios:
            base = {"average_precision": rng.uniform(0.3, 0.8), "roc_auc": rng.uniform(0.7, 0.9),
                    "ece": rng.uniform(0.05, 0.1), "log_loss": rng.uniform(0.2, 0.5)}
            for method in ("ce", "focal", "weighted_ce"):
                for rep in range(reps):
                    for metric, sign in METRICS.items():
                        value = base[metric] + sign * effect(method, ratio) + rng.normal(0, noise)
                        rows.append({"benchmark": "hand", "dataset": f"d{d}", "imbalance_ratio": ratio,
                                     "method": method, "loss": method, "sampler": "none", "repetition": rep,
                                     "seed": rep, "calibration": "raw", "metric": metric, "value": value, "spec_hash": "h",
                                     "git_commit": "c", "versions": "torch=1",
                                     **(extra or {})})
    return pd.DataFrame(rows)


def _decide(table: pd.DataFrame, rope: float = effects.ROPE) -> pd.DataFrame:
    comp = effects.compare(decision.with_regimes(table), rope=rope).table
    return decision.decision_table(comp[comp["question"] == "loss"]).set_index("regime")


def _planted(method: str, ratio: str) -> float:
    return 0.05 if (method, ratio) == ("focal", "100") else 0.0


RARE, COMMON, ALL = ("binary · spec model · ρ ≥ 50", "binary · spec model · ρ 1–3", "binary · spec model · all ρ")


def test_a_planted_winner_is_named_in_its_regime_and_equivalence_elsewhere():
    table = _decide(_table(_planted, seed=0, noise=0.001))
    assert table.loc[RARE, "datasets"] == table.loc[COMMON, "datasets"] == table.loc[ALL, "datasets"] == 12
    assert re.match(r"\*\*focal\*\*: (AP|ROC AUC) \+0\.050 \[", table.loc[RARE, "ranking"])
    assert "P(better) 1.00, next dataset 1.00" in table.loc[RARE, "ranking"]
    assert table.loc[RARE, "probabilities"].startswith("**focal**: ")
    assert table.loc[COMMON, "ranking"] == table.loc[COMMON, "probabilities"] == "no difference beyond ±0.01"
    assert table.loc[ALL, "ranking"].startswith("**focal**: ")  # +0.025 over the two ratios: above the ROPE too
    assert table.loc[COMMON, "decisions"] == "—"  # F1 and MCC were not measured


def test_a_wider_rope_swallows_the_planted_effect():
    table = _decide(_table(_planted, seed=0, noise=0.001), rope=0.2)
    assert not table["ranking"].str.contains("focal").any()


@pytest.mark.parametrize("seed", range(3))
def test_pure_noise_names_no_winner(seed):
    table = _decide(_table(lambda m, r: 0.0, seed=seed, noise=0.03))
    for family in ("ranking", "probabilities"):
        assert not table[family].str.contains(r"\*\*").any(), table[family].tolist()


def test_too_few_datasets_say_so_instead_of_a_winner():
    table = _decide(_table(_planted, seed=0, noise=0.001, n_datasets=3))
    assert (table["ranking"] == "too few datasets (3 < 5)").all()


def _rows(*rows) -> pd.DataFrame:
    cols = ["method", "metric", "verdict", "mu", "ci_low", "ci_high", "p_better", "p_next", "mde", "rope", "datasets"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows])


@pytest.mark.parametrize(("rows", "kind", "text"), [
    ([("focal", "average_precision", "better", 0.03, 0.02, 0.04, 0.99, 0.8, 0.005, 0.01, 20),
      ("smote", "average_precision", "better", 0.05, 0.03, 0.07, 0.99, 0.9, 0.005, 0.01, 20),
      ("smote", "roc_auc", "worse", -0.03, -0.04, -0.02, 0.0, 0.0, 0.005, 0.01, 20)],
     "winner", "**focal**: AP +0.030 [+0.020, +0.040], P(better) 0.99, next dataset 0.80"),  # smote is worse on AUC
    ([("focal", "average_precision", "equivalent", 0.0, -0.004, 0.004, 0.0, 0.0, 0.005, 0.01, 20)],
     "equivalent", "no difference beyond ±0.01"),
    ([("focal", "average_precision", "equivalent", 0.0, -0.004, 0.004, 0.0, 0.0, 0.005, 0.01, 20),
      ("smote", "average_precision", "worse", -0.05, -0.06, -0.04, 0.0, 0.0, 0.005, 0.01, 20)],
     "keep", "keep ce (worse: smote)"),
    ([("focal", "average_precision", "cannot resolve", 0.0, -0.04, 0.04, 0.1, 0.2, 0.05, 0.01, 6),
      ("focal", "roc_auc", "equivalent", 0.0, -0.004, 0.004, 0.0, 0.0, 0.005, 0.01, 6)],
     "cannot", "cannot resolve ±0.01 here (MDE on AP 0.05)"),
    ([("focal", "average_precision", "not shown", 0.012, 0.008, 0.016, 0.8, 0.6, 0.005, 0.01, 20)],
     "not_shown", "no effect beyond ±0.01 shown"),
    ([("focal", "average_precision", "not shown", 0.012, 0.008, 0.016, 0.8, 0.6, 0.005, 0.01, 20),
      ("smote", "average_precision", "worse", -0.05, -0.06, -0.04, 0.0, 0.0, 0.005, 0.01, 20)],
     "not_shown", "no effect beyond ±0.01 shown (worse: smote)"),
    ([("focal", "average_precision", "too few", 0.05, 0.0, 0.1, 0.9, 0.9, 0.05, 0.01, 3)],
     "too_few", "too few datasets (3 < 5)"),
])
def test_the_family_rule(rows, kind, text):
    got_kind, got_text, _ = decision.decide(_rows(*rows))
    assert (got_kind, got_text) == (kind, text)


def test_model_and_task_columns_are_used_when_present():
    table = _table(_planted, seed=0, noise=0.001, n_datasets=2, extra={"model": "lightgbm", "n_classes": 5})
    regimes = set(decision.with_regimes(table)["regime"])
    assert {"multi-class · lightgbm · ρ 1–3", "multi-class · lightgbm · ρ ≥ 50"} <= regimes


def test_pairwise_wilcoxon_holm_matches_scipy_and_statsmodels():
    means = stats.cell_means(_table(_planted, seed=2, noise=0.01), "average_precision")
    p = stats.pairwise_wilcoxon_holm(means)
    pairs = [("ce", "focal"), ("ce", "weighted_ce"), ("focal", "weighted_ce")]
    raw = [sps.wilcoxon(means[a] - means[b]).pvalue for a, b in pairs]
    for (a, b), expected in zip(pairs, multipletests(raw, method="holm")[1]):
        assert p.loc[a, b] == p.loc[b, a] == pytest.approx(expected)
    assert (np.diag(p) == 1).all()


def test_summary_is_short_and_says_which_regimes_cannot_decide():
    table = decision.with_regimes(_table(_planted, seed=0, noise=0.001, ratios=("2", "5", "20", "100")))
    evidence = effects.compare(table)
    lines = decision.summary(evidence.table[evidence.table["question"] == "loss"], rope=0.01, counts=evidence.counts)
    assert len(lines) <= 12
    assert any(line.startswith("In binary · spec model · ρ ≥ 50, ranking: **focal**") for line in lines)
    assert lines[-1].startswith("Left out of the verdicts: 0 fold results (dataset × ratio × model × method")
    assert "n_test/n_train = 0.25 (a 60/20/20 holdout" in lines[-1]  # the table predates the fold columns


def test_report_rope_flag(tmp_path):
    folder = tmp_path / "hand"
    folder.mkdir()
    _table(_planted, seed=0, noise=0.001, n_datasets=6, ratios=("100",)).to_csv(folder / "results.csv", index=False)
    assert runner.main(["report", str(folder), "--no-tracking", "--rope", "0.2"]) == 0
    md = (folder / "report.md").read_text()
    assert "P(μ > 0.2)" in md and "| binary · spec model · all ρ | 6 | no difference beyond ±0.2 |" in md
    assert runner.main(["report", str(folder), "--no-tracking"]) == 0
    assert "| binary · spec model · all ρ | 6 | **focal**: " in (folder / "report.md").read_text()


def test_report_with_too_few_datasets_everywhere_names_nothing(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    _table(_planted, seed=0, noise=0.001, n_datasets=1).to_csv(folder / "results.csv", index=False)
    assert runner.main(["report", str(folder), "--no-tracking"]) == 0
    md = (folder / "report.md").read_text()
    assert "| binary · spec model · all ρ | 1 | too few datasets (1 < 5) |" in md and "**focal**" not in md


def test_tuned_loss_regret_and_choices():
    table = _table(_planted, seed=3, noise=0.001)
    tuned = table[((table["method"] == "focal") & (table["imbalance_ratio"] == "100"))
                  | ((table["method"] == "ce") & (table["imbalance_ratio"] == "2"))].copy()
    tuned["method"] = "tuned_loss"
    table = decision.with_regimes(pd.concat([table, tuned], ignore_index=True))
    md, words = report_sections.tuned_loss_section(table, rope=0.01, seed=0)
    text = "\n".join(md)
    regret = text.split("| average_precision | 24 | ")[1].split(" | ")
    assert abs(float(regret[0])) < 0.002  # median regret against the best fixed loss in hindsight
    assert "| binary · spec model · ρ ≥ 50 | 0 | 24 |" in text  # focal chosen at ρ = 100
    assert words and words[0].startswith("tuned_loss: median regret on average_precision")
    md, words = report_sections.tuned_loss_section(table[table["method"] != "tuned_loss"], rope=0.01, seed=0)
    assert md[2].startswith("Skipped") and not words


@pytest.mark.parametrize("case", ["noise", "ties", "rope0", "one_cell", "many"])
def test_fast_signed_rank_samples_are_baycomps(case):
    rng = np.random.default_rng(3)
    n = {"one_cell": 1, "many": 300}.get(case, 40)
    x = rng.random(n)
    y = x + rng.normal(0.004, 0.01, n)
    if case == "ties":  # sums landing exactly on the rope's edge get half weight in baycomp
        x, y = np.round(x, 2), np.round(x, 2) + rng.choice([-0.01, 0.0, 0.01, 0.02], n)
    rope = 0.0 if case == "rope0" else 0.01
    kwargs = dict(rope=rope, nsamples=400, random_state=11)
    np.testing.assert_allclose(bayes.FastSignedRankTest.sample(x, y, **kwargs),
                               baycomp.SignedRankTest.sample(x, y, **kwargs), atol=1e-12)
    np.testing.assert_allclose(bayes.FastSignedRankTest.probs(x, y, **kwargs),
                               baycomp.SignedRankTest.probs(x, y, **kwargs))


def test_a_natural_ratio_falls_in_its_class_ratio_bucket():
    table = pd.DataFrame({"dataset": ["keel/yeast3", "keel/yeast3", "mine"], "imbalance_ratio": ["natural", "20", "natural"],
                          "n_classes": 2, "model": "mlp"})
    regimes = decision.with_regimes(table)["regime"].astype(str).tolist()
    assert regimes == ["binary · mlp · ρ 3–10", "binary · mlp · ρ 10–50", "binary · mlp · ρ natural"]  # 1321 / 163


def test_smooth_ece_reads_a_seeded_paired_subset_of_a_large_run():
    pairs = [(f"d{i}", r) for i in range(30) for r in ("2", "natural")]
    table = pd.DataFrame([{"dataset": d, "imbalance_ratio": r, "method": m} for d, r in pairs for m in ("ce", "focal")])
    subset, note = report_sections._smooth_subset(table, seed=0)
    kept = subset[["dataset", "imbalance_ratio"]].drop_duplicates()
    assert len(kept) == report_sections.SMOOTH_PAIRS and len(subset) == 2 * report_sections.SMOOTH_PAIRS
    assert subset.groupby(["dataset", "imbalance_ratio"])["method"].apply(set).eq({"ce", "focal"}).all()
    assert "40 of the 60" in note[0]
    assert report_sections._smooth_subset(table, seed=0)[0].equals(subset)
    small = table[table["dataset"].isin(["d0", "d1"])]
    assert report_sections._smooth_subset(small)[0] is small
