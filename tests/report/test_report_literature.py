"""Literature checks on hand-made results: a planted negative α–γ correlation is reproduced,
independent α and γ are not, too few cells are not testable (and the model is named); focal's planted lower raw ECE in the
over-parameterised regime is reproduced, and the same table under early stopping is not testable."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness.report import focal_grid
from harness.report import literature as lit
from harness.report import tuning as report_tuning
from harness.store.run_spec import FILE


def _summary(folder, i: int, gamma: float, alpha: float | None, *, ratio: str = "10", gap: float = 0.02) -> None:
    path = folder / "tuning" / f"d{i}__rho{ratio}__mlp__focal.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    params = {"lr": 0.01, "focal_gamma": gamma, **({} if alpha is None else {"focal_alpha": alpha})}
    path.write_text(json.dumps({"dataset": f"d{i}", "imbalance_ratio": ratio, "model": "mlp", "method": "focal",
                                "best_params": params, "best_value": 0.5,
                                "flatness": {"top5_gap": gap, "top5_std": gap / 3}, "importances": {}, "trials": 20}))


def _alpha_gamma(tmp_path, alpha_of, n: int, seed: int = 0) -> lit.Check:
    rng = np.random.default_rng(seed)
    for i in range(n):
        gamma = rng.uniform(0, 5)
        _summary(tmp_path, i, gamma, alpha_of(gamma, rng))
    return lit.alpha_gamma_check(report_tuning.tuning_frame(tmp_path))


def test_a_planted_negative_alpha_gamma_correlation_is_reproduced(tmp_path):
    check = _alpha_gamma(tmp_path, lambda g, rng: float(np.clip(0.8 - 0.12 * g + rng.normal(0, 0.05), 0.05, 0.95)), 40)
    assert check.verdict == lit.REPRODUCED, check
    rho = float(check.numbers.split("ρ_s = ")[1].split(",")[0])
    assert rho < -0.8 and "n = 40" in check.numbers


def test_independent_tuned_alpha_and_gamma_are_inconclusive_not_a_refutation(tmp_path):
    check = _alpha_gamma(tmp_path, lambda g, rng: rng.uniform(0.05, 0.95), 200, seed=1)
    assert check.verdict.startswith(lit.INCONCLUSIVE + " (γ not identified by the tuning"), check
    assert "within 0.005 in 0 of 200 cells" in check.verdict and "n = 200" in check.numbers


def _grid_table(n_datasets: int, *, interaction: float = 0.0, rho_gain: float = 0.0, seed: int = 0,
                folds: int = 4) -> pd.DataFrame:
    """AP per fold on the focal grid (γ 0, 2, 5 × α none, 0.25, 0.75) at ρ 2 and 50: a dataset
    level, a split effect shared by a fold's arms, method noise; the planted α–γ interaction
    adds ``interaction`` × γ/2 to α 0.25 (and takes as much from α 0.75); the planted γ–ρ effect
    adds ``rho_gain`` × γ/2 to focal at ρ 50 only."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_datasets):
        level = rng.uniform(0.3, 0.8)
        for ratio in ("2", "50"):
            for fold in range(folds):
                split = rng.normal(0, 0.03)
                for gamma in (0, 2, 5):
                    for alpha, tag in ((None, "none"), (0.25, "25"), (0.75, "75")):
                        method = "ce" if gamma == 0 and alpha is None else f"focal_g{gamma}_a{tag}"
                        tilt = {None: 0.0, 0.25: 1.0, 0.75: -1.0}[alpha] * interaction * gamma / 2
                        rise = rho_gain * gamma / 2 if ratio == "50" and method != "ce" else 0.0
                        rows.append({"dataset": f"d{d}", "imbalance_ratio": ratio, "model": "mlp", "method": method,
                                     "calibration": "raw", "metric": "average_precision", "repeat": 0, "fold": fold,
                                     "n_train": 300, "n_test": 100, "valid": True, "n_classes": 2,
                                     "value": level + split + tilt + rise + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


def _grid_verdicts(table: pd.DataFrame) -> dict[str, str]:
    checks, md = lit.focal_grid_checks(table, rope=0.01)
    assert md and len(checks) == 2
    return {c.source.split(" ")[0]: c.verdict for c in checks}


def test_a_planted_alpha_gamma_interaction_on_the_grid_is_reproduced_and_rho_is_not():
    verdicts = _grid_verdicts(_grid_table(15, interaction=0.03, seed=1))
    assert verdicts == {"Lin": lit.REPRODUCED, "γ–ρ": lit.NOT_REPRODUCED}, verdicts


def test_a_planted_gain_growing_with_rho_on_the_grid_is_reproduced_and_alpha_gamma_is_not():
    verdicts = _grid_verdicts(_grid_table(15, rho_gain=0.03, seed=2))
    assert verdicts == {"Lin": lit.NOT_REPRODUCED, "γ–ρ": lit.REPRODUCED}, verdicts


def test_a_grid_on_few_noisy_datasets_is_inconclusive():
    table = _grid_table(6, interaction=0.004, seed=3)
    table["value"] += np.random.default_rng(4).normal(0, 0.05, len(table))
    assert set(_grid_verdicts(table).values()) == {lit.INCONCLUSIVE}


def test_the_grid_contrast_is_the_paired_double_difference_per_fold():
    table = _grid_table(5, seed=5)
    arms = focal_grid.grid_arms(table)
    assert set(arms["method"]) >= {"ce", "focal_g2_a25", "focal_g5_anone"} and len(arms) == 9
    contrasts = focal_grid.alpha_gamma_contrasts(table, arms)
    wide = table.pivot_table(index=["dataset", "imbalance_ratio", "fold"], columns="method", values="value")
    by_hand = (wide["focal_g2_a25"] - wide["focal_g2_a75"]) - (wide["focal_g0_a25"] - wide["focal_g0_a75"])
    mine = contrasts[contrasts["method"].str.contains("γ 2 ")].set_index(["dataset", "ratio", "fold"])["d"]
    assert np.allclose(mine.sort_index().to_numpy(), by_hand.sort_index().to_numpy())


def test_fewer_than_ten_cells_with_both_tuned_are_not_testable(tmp_path):
    check = _alpha_gamma(tmp_path, lambda g, rng: 0.9 - 0.15 * g, 9)
    assert check.verdict.startswith(lit.NOT_TESTABLE) and "9 `mlp` focal cells" in check.verdict
    for i in range(9, 20):  # α fixed (None) in these: they do not count
        _summary(tmp_path, i, 2.0, None)
    assert lit.alpha_gamma_check(report_tuning.tuning_frame(tmp_path)).verdict.startswith(lit.NOT_TESTABLE)


def _ece_table(n_datasets: int = 12, gain: float = 0.04, seed: int = 0) -> pd.DataFrame:
    """Raw ECE per cell: ce at base, focal and focal_g1 (loss focal) ``gain`` lower, ce with
    temperature scaling as low as focal; two repetitions with a little noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_datasets):
        base = rng.uniform(0.08, 0.15)
        for method, loss, calibration, value in (("ce", "ce", "raw", base), ("ce", "ce", "temperature", base - gain),
                                                 ("focal", "focal", "raw", base - gain),
                                                 ("focal_g1", "focal", "raw", base - gain / 2),
                                                 ("tuned_loss", "focal", "raw", base + gain)):
            for rep in range(2):
                rows.append({"dataset": f"d{d}", "imbalance_ratio": "10", "model": "mlp", "method": method,
                             "loss": loss, "sampler": "none", "repetition": rep, "calibration": calibration,
                             "metric": "ece", "value": value + rng.normal(0, 0.002)})
    return pd.DataFrame(rows)


def _write_spec(folder, early_stopping: str) -> None:
    (folder / FILE).write_text(json.dumps({"training": {"early_stopping": early_stopping}}))


def test_focal_lower_raw_ece_without_early_stopping_is_reproduced(tmp_path):
    _write_spec(tmp_path, "none")
    md = "\n".join(lit.literature_section(_ece_table(), tmp_path, rope=0.01, seed=0))
    line = next(l for l in md.splitlines() if "Mukhoti" in l)
    assert f"**{lit.REPRODUCED} (for focal, focal_g1).**" in line, line
    assert "focal ECE gain +0.04" in line and "over 12 datasets, P(better) 1.00 (better)" in line
    assert "focal raw is practically equivalent to it" in line  # CE + temperature closes the gap
    assert "tuned_loss" not in md  # never a focal variant, whatever loss it chose


def test_focal_no_better_than_ce_is_not_reproduced():
    check, _ = lit.mukhoti_check(_ece_table(gain=0.0), "none", rope=0.01)
    assert check.verdict.startswith(lit.NOT_REPRODUCED), check


def test_too_few_datasets_in_the_overfit_regime_are_not_testable():
    check, _ = lit.mukhoti_check(_ece_table(n_datasets=2), "none", rope=0.01)
    assert check.verdict.startswith(lit.NOT_TESTABLE) and "2 datasets" in check.verdict


@pytest.mark.parametrize(("spec", "why"), [("loss", "regime: early stopping on the validation loss; run "
                                                    "benchmarks/overfit.yaml"),
                                           (None, "regime: unknown: this results folder keeps no spec.json; run "
                                                  "benchmarks/overfit.yaml")])
def test_early_stopping_is_not_testable_but_shows_the_numbers(tmp_path, spec, why):
    if spec is not None:
        _write_spec(tmp_path, spec)
    md = "\n".join(lit.literature_section(_ece_table(), tmp_path, rope=0.01, seed=0))
    line = next(l for l in md.splitlines() if "Mukhoti" in l)
    assert f"**{lit.NOT_TESTABLE} ({why}).**" in line, line
    assert "focal ECE gain +0.04" in line  # the numbers, as context
    assert "Lin et al. 2017" in md and "0 focal cells" in md  # no tuning summaries here


def _gamma_frame(tmp_path, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ratios = ["2", "5", "20", "100"]
    for i in range(n):
        ratio = ratios[i % 4]
        _summary(tmp_path, i, float(np.log10(float(ratio)) * 2 + rng.normal(0, 0.1)), 0.5, ratio=ratio,
                 gap=0.001 if (i // 4) % 2 else 0.02)
    _summary(tmp_path, n, 1.0, 0.5, ratio="natural")  # dataset "d<n>": not in the catalogue
    return report_tuning.tuning_frame(tmp_path)


def test_tuned_gamma_against_rho_per_bucket(tmp_path):
    md = "\n".join(report_tuning._focal_gamma(_gamma_frame(tmp_path, 40)))
    assert "all cells ρ_s = +0.9" in md and "n = 40" in md
    assert "1 cells at the natural ratio of a dataset outside the catalogue are left out" in md
    assert "| ρ 1–3 | 10 |" in md and "| ρ ≥ 50 | 10 |" in md and "5 of 10" in md
    assert "the per-cell γ table is left out" in md  # 41 cells > 30


def test_natural_ratio_of_a_catalogue_dataset_is_its_class_ratio(tmp_path):
    _summary(tmp_path, 0, 1.0, 0.5, ratio="natural")
    frame = report_tuning.tuning_frame(tmp_path).assign(dataset="keel/yeast3")  # 1321 negatives, 163 positives
    assert report_tuning._rhos(frame).tolist() == pytest.approx([1321 / 163])


def test_few_cells_keep_the_per_cell_gamma_table(tmp_path):
    md = "\n".join(report_tuning._focal_gamma(_gamma_frame(tmp_path, 12)))
    assert "| tuned γ |" in md.replace("| dataset | imbalance_ratio | tuned γ |", "| tuned γ |")
    assert "left out;" not in md
