"""Statistics and the report, on hand-made results with a known winner and on pure noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import runner
from harness.report import stats


def _table(effect: dict[str, float], seed: int, n_datasets=4, ratios=("1", "10", "100"), reps=3) -> pd.DataFrame:
    """Results where method m's average precision is base + effect[m] + noise, per cell."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_datasets):
        for ratio in ratios:
            base = rng.uniform(0.3, 0.8)
            for method, shift in effect.items():
                for rep in range(reps):
                    for metric, sign in (("average_precision", 1.0), ("ece", -1.0)):
                        value = base + sign * shift + rng.normal(0, 0.01)
                        rows.append({"benchmark": "hand", "dataset": f"d{d}", "imbalance_ratio": ratio,
                                     "method": method, "loss": method, "sampler": "none", "repetition": rep,
                                     "seed": rep, "calibration": "raw", "metric": metric,
                                     "value": value if metric == "average_precision" else abs(value - 0.5),
                                     "dataset_fingerprint": "x", "spec_hash": "h", "git_commit": "c",
                                     "versions": "torch=1"})
    return pd.DataFrame(rows)


def test_a_known_winner_is_detected():
    table = _table({"ce": 0.0, "focal": 0.03, "weighted_ce": 0.0, "smote": -0.03}, seed=0)
    means = stats.cell_means(table, "average_precision")
    assert means.shape == (12, 4)
    ranks = stats.average_ranks(means, "average_precision")
    assert ranks.index[0] == "focal" and ranks.index[-1] == "smote"
    fr = stats.friedman(means, "average_precision")
    assert fr.p_value < 1e-4
    assert stats.pairwise_wilcoxon_holm(means).loc["focal", "smote"] < 0.05
    vs = stats.versus_baseline(means, "average_precision").set_index("method")
    assert vs.loc["focal", "wins"] == 12 and vs.loc["focal", "p_holm"] < 0.01
    assert vs.loc["smote", "losses"] == 12 and vs.loc["smote", "p_holm"] < 0.01
    assert vs.loc["weighted_ce", "p_holm"] > 0.05


@pytest.mark.parametrize("seed", range(5))
def test_pure_noise_is_not_declared_a_difference(seed):
    table = _table({"ce": 0.0, "focal": 0.0, "weighted_ce": 0.0}, seed=seed)
    means = stats.cell_means(table, "average_precision")
    vs = stats.versus_baseline(means, "average_precision")
    assert (vs["p_holm"] > 0.05).all()


def test_report_is_written_from_the_results_folder_alone(tmp_path, capsys):
    folder = tmp_path / "hand"
    folder.mkdir()
    _table({"ce": 0.0, "focal": 0.03, "weighted_ce": 0.0}, seed=1, n_datasets=6).to_csv(folder / "results.csv",
                                                                                  index=False)
    assert runner.main(["report", str(folder), "--no-tracking"]) == 0
    md = (folder / "report.md").read_text()
    assert md.index("## Decision") < md.index("## Summary") < md.index("## Each method against ce")
    assert "| binary · spec model · all ρ | 6 | **focal**: AP +0.03" in md and "Friedman" in md and "Holm" in md
    assert "over 6 datasets (an omnibus test" in md  # ranks over datasets, not dataset×ratio blocks
    assert "Nemenyi" not in md
    page = (folder / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(list((folder / "report").glob("*.png"))) >= 5
    assert runner.main(["compare", str(folder), str(folder), "--metric", "ece"]) == 0
    out = capsys.readouterr().out
    assert "B - A" in out and "0.0000" in out
    assert runner.main(["report", str(tmp_path / "none"), "--no-tracking"]) == 2


def test_the_header_names_every_commit_and_versions_a_table_ran_under():
    """Cells added later (``--against``) may have run under another commit and other versions:
    the report's header names each, with its share of the rows, not the first row's alone."""
    from harness.report.build import _header

    one = _table({"ce": 0.0, "mine": 0.0}, seed=2, n_datasets=2)
    assert "code `c`, torch=1." in _header(one)[2]
    two = one.assign(git_commit=np.where(one["method"] == "mine", "d", "c"),
                     versions=np.where(one["method"] == "mine", "torch=2", "torch=1"))
    assert "code `c` (50% of the rows); `d` (50% of the rows), torch=1 (50% of the rows); torch=2 (50% of the rows)." \
        in _header(two)[2]
