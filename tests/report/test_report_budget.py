"""The trial-budget table of "the loss as a hyperparameter": planted regrets of tuned_loss at
three budgets come out of the table and its sentence as planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.report import sections as report_sections

FIXED = {"ce": 0.0, "weighted_ce": 0.01, "focal": 0.02}  # focal is the best fixed loss in every cell
TRIALS = {"ce": 20, "weighted_ce": 20, "focal": 20, "tuned_loss": 20, "tuned_loss_2x": 40, "tuned_loss_4x": 80}


def _table(tuned: dict[str, float], *, n_datasets: int = 8, reps: int = 2, seed: int = 0) -> pd.DataFrame:
    """Average precision (higher is better) of base + shift per method, log loss (lower is better)
    of base − shift: the same regrets on both. tuned_loss variants train with a chosen loss."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_datasets):
        base = {"average_precision": rng.uniform(0.3, 0.7), "log_loss": rng.uniform(0.2, 0.5)}
        for method, shift in {**FIXED, **tuned}.items():
            loss = "focal" if method.startswith("tuned_loss") else method
            for rep in range(reps):
                for metric, sign in (("average_precision", 1.0), ("log_loss", -1.0)):
                    rows.append({"benchmark": "hand", "dataset": f"d{d}", "imbalance_ratio": "10", "model": "mlp",
                                 "method": method, "loss": loss, "sampler": "none", "repetition": rep,
                                 "calibration": "raw", "metric": metric, "value": base[metric] + sign * shift})
    return pd.DataFrame(rows)


def _section(table: pd.DataFrame, trials=TRIALS) -> tuple[str, list[str]]:
    md, words = report_sections.tuned_loss_section(table, rope=0.01, seed=0, trials=trials)
    return "\n".join(md), words


def test_planted_regrets_at_each_budget_are_reported():
    table = _table({"tuned_loss": -0.03, "tuned_loss_2x": 0.0, "tuned_loss_4x": 0.02})
    budget = report_sections.budget_table(table, list(FIXED), ["tuned_loss", "tuned_loss_2x", "tuned_loss_4x"],
                                          TRIALS).set_index(["metric", "method"])
    for metric in ("average_precision", "log_loss"):
        rows = budget.loc[metric]
        assert rows["median regret vs best fixed"].to_numpy() == pytest.approx([0.05, 0.02, 0.0])
        assert rows["median regret vs ce"].to_numpy() == pytest.approx([0.03, 0.0, -0.02])
        assert rows["trials"].tolist() == [20, 40, 80]
        assert rows["blocks"].tolist() == [8, 8, 8]
        assert rows.loc["tuned_loss_4x", "blocks ≥ best fixed"] == "8 of 8"
        assert rows.loc["tuned_loss", "blocks ≥ best fixed"] == "0 of 8"
    md, words = _section(table)
    assert "### Regret against the trial budget" in md
    assert any(w.startswith("tuned_loss budget:") and "+0.0500 at 20 trials" in w and "+0.0000 at 80 trials" in w
               and "it shrinks" in w for w in words), words


def test_a_regret_that_grows_with_budget_says_it_does_not_shrink():
    table = _table({"tuned_loss": 0.0, "tuned_loss_2x": -0.01, "tuned_loss_4x": -0.04})
    _, words = _section(table)
    sentence = next(w for w in words if w.startswith("tuned_loss budget:"))
    assert "+0.0200 at 20 trials" in sentence and "+0.0600 at 80 trials" in sentence
    assert "does not shrink" in sentence


def test_budgets_are_ordered_by_trials_and_unknown_trials_say_so():
    table = _table({"tuned_loss_4x": 0.02, "tuned_loss": -0.03, "tuned_loss_2x": 0.0})
    md, _ = _section(table)
    assert md.index("| tuned_loss | 20 |") < md.index("| tuned_loss_2x | 40 |") < md.index("| tuned_loss_4x | 80 |")
    md, _ = _section(table, trials={})
    assert "| average_precision | tuned_loss_4x | ? |" in md


def test_one_budget_shows_no_budget_table():
    md, words = _section(_table({"tuned_loss": -0.03}))
    assert "Regret against the trial budget" not in md
    assert not any(w.startswith("tuned_loss budget:") for w in words)
    assert "| average_precision | 8 | 0.05 |" in md  # the one-budget regret table as before


def test_selection_regret_of_noise_is_the_expected_best_of_k_against_one():
    """Identical losses with Gaussian fold noise: the median regret of the hindsight best of K
    against one of them is what order statistics predict (max of K minus one, block means over
    4 folds), and real differences do not enter it (values are permuted within a fold)."""
    import numpy as np
    import pandas as pd

    from harness.report.sections import selection_regret

    rng = np.random.default_rng(0)
    k, folds, sigma = 4, 4, 0.04
    rows = [{"dataset": f"d{d}", "imbalance_ratio": "2", "model": "mlp", "repeat": 0, "fold": f, "method": m,
             "calibration": "raw", "metric": "average_precision",
             "value": 0.5 + (0.3 if m == "a" else 0.0) + rng.normal(0, sigma)}
            for d in range(400) for f in range(folds) for m in "abcd"[:k]]
    got = selection_regret(pd.DataFrame(rows), "average_precision", list("abcd"), n_perm=10)
    # the same regret on K identical losses with the same noise, no permutation needed: median over
    # blocks of (max of K block means − the first's), block means of `folds` N(0, σ²) fits
    draws = rng.normal(0, sigma, size=(200_000, k, folds)).mean(axis=2)
    expected = np.median(draws.max(axis=1) - draws[:, 0])
    assert got > 0 and abs(got - expected) < 0.15 * expected  # loss "a" being 0.3 better does not enter it

def test_threshold_metrics_are_judged_against_ce_with_post_hoc_logit_adjustment():
    """weighted_ce beats raw ce by 0.05 on balanced accuracy, and ce's logit-adjusted variant beats
    raw ce by 0.10: against the adjusted ce, weighted_ce is the worse one (and a table without the
    variant gets no section)."""
    import numpy as np
    import pandas as pd

    from harness.report.sections import logit_adjusted_baseline_section

    rng = np.random.default_rng(3)
    rows = []
    for d in range(12):
        base = rng.uniform(0.6, 0.8)
        for f in range(4):
            noise = rng.normal(0, 0.005)
            for method, calibration, shift in (("ce", "raw", 0.0), ("ce", "logit_adjusted", 0.10),
                                               ("weighted_ce", "raw", 0.05)):
                rows.append({"dataset": f"d{d}", "imbalance_ratio": "10", "model": "mlp", "method": method,
                             "calibration": calibration, "metric": "balanced_accuracy", "repetition": f,
                             "repeat": 0, "fold": f, "n_train": 300, "n_test": 100, "valid": True,
                             "n_classes": 2, "value": base + shift + noise + rng.normal(0, 0.002)})
    table = pd.DataFrame(rows)
    text = "\n".join(logit_adjusted_baseline_section(table, rope=0.01, model="mlp"))
    line = next(x for x in text.splitlines() if "| weighted_ce |" in x)
    assert line.rstrip(" |").endswith("worse") and "-0.0" in line
    assert logit_adjusted_baseline_section(table[table["calibration"] == "raw"], rope=0.01) == []
