"""Mukhoti's check on images, on hand-made results and curves: a planted lower focal ECE after
CE over-fitted is reproduced; the same ECE without over-fitting is not testable with this net;
noise is inconclusive; long-tailed test sets stay out of the verdict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from harness.report import curves
from harness.report import literature as lit

DATASETS = {"fmnist": (1000, 100), "fmnist-lt-bal": (1710, 171), "fmnist-lt": (700, 17)}  # n_test, smallest class


def _rows(ece: dict[str, float], noise: float, reps: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for dataset, (n_test, smallest) in DATASETS.items():
        for rep in range(reps):
            for method, (loss, base) in {"ce": ("ce", ece["ce"]), "focal_g3": ("focal", ece["focal"])}.items():
                for calibration, value in (("raw", base), ("temperature", ece["temperature"])):
                    rows.append({"dataset": dataset, "imbalance_ratio": "1", "model": "cnn", "method": method,
                                 "loss": loss, "sampler": "none", "repetition": rep, "calibration": calibration,
                                 "metric": "top_label_ece", "value": value + rng.normal(0, noise),
                                 "n_classes": 10, "n_train": 2800, "n_test": n_test, "n_test_minority": smallest})
    return pd.DataFrame(rows)


def _curves(folder, *, overfit: bool, reps: int = 3) -> None:
    (folder / "curves").mkdir(parents=True, exist_ok=True)
    val = [1.0, 0.6, 0.5, 0.55, 0.65, 0.8] if overfit else [1.0, 0.7, 0.6, 0.55, 0.52, 0.5]
    for dataset in DATASETS:
        reps_ = [{"repetition": r, "epochs": 6, "train_nll": [1.0, 0.5, 0.2, 0.1, 0.05, 0.02], "val_nll": val,
                  "train_nll_final": 0.01 if overfit else 0.3, "test_nll_final": val[-1]} for r in range(reps)]
        (folder / "curves" / f"{dataset}__ce.json").write_text(json.dumps(
            {"dataset": dataset, "imbalance_ratio": "1", "model": "cnn", "method": "ce", "repetitions": reps_}))


def test_curves_frame_flags_overfitting(tmp_path):
    _curves(tmp_path, overfit=True)
    frame = curves.curves_frame(tmp_path)
    assert len(frame) == 9 and frame["overfit"].all()
    assert (frame["val_nll_min_epoch"] == 2).all() and (frame["val_nll_last"] == 0.8).all()
    _curves(tmp_path, overfit=False)
    assert not curves.curves_frame(tmp_path)["overfit"].any()


def test_planted_lower_focal_ece_after_overfitting_is_reproduced(tmp_path):
    _curves(tmp_path, overfit=True)
    check, versus = lit.mukhoti_images_check(_rows({"ce": 0.08, "focal": 0.02, "temperature": 0.015}, 0.002),
                                             tmp_path, rope=0.01)
    assert check.verdict.startswith(lit.REPRODUCED), check
    raw = versus[versus["against"] == "ce raw"].iloc[0]
    assert raw["units"] == 6  # the two balanced test sets × 3 repetitions; fmnist-lt (long-tailed test) left out
    assert abs(raw["diff"] - 0.06) < 0.01 and raw["mde"] > 0.01
    assert "9 of 9" not in check.numbers and "6 of 6 fits over-fitted" in check.numbers
    assert "FL-3 1.48 %" in check.numbers


def test_the_same_ece_without_overfitting_is_not_testable_with_this_net(tmp_path):
    _curves(tmp_path, overfit=False)
    check, versus = lit.mukhoti_images_check(_rows({"ce": 0.08, "focal": 0.02, "temperature": 0.015}, 0.002),
                                             tmp_path, rope=0.01)
    assert check.verdict == f"{lit.NOT_TESTABLE} with this net (CE did not over-fit)" and versus.empty
    assert "0 of 6 fits over-fitted" in check.numbers


def test_noise_around_no_effect_is_inconclusive(tmp_path):
    _curves(tmp_path, overfit=True)
    check, _ = lit.mukhoti_images_check(_rows({"ce": 0.05, "focal": 0.045, "temperature": 0.02}, 0.03, reps=2),
                                        tmp_path, rope=0.01)
    assert check.verdict.startswith(lit.INCONCLUSIVE), check


def test_section_appears_only_with_curves(tmp_path):
    table = _rows({"ce": 0.08, "focal": 0.02, "temperature": 0.015}, 0.002)
    assert lit.images_literature_section(table, tmp_path, rope=0.01) == []
    _curves(tmp_path, overfit=True)
    md = lit.images_literature_section(table, tmp_path, rope=0.01)
    assert md[0] == "## Literature checks (images)" and "**reproduced" in md[2]
