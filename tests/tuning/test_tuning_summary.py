"""How flat the objective was: the gap and spread of the top trials' validation scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.store.records import TrialRecord
from harness.tuning.summary import Flatness, flatness


def _trial(number: int, value: float | None, state: str = "COMPLETE") -> TrialRecord:
    return TrialRecord(number, {}, None if value is None else [value], state, "", [], 0, 0)


def test_the_gap_and_std_of_the_five_best_completed_trials():
    values = [0.50, 0.91, 0.88, 0.70, 0.90, 0.86, 0.89, 0.10]
    trials = [_trial(i, v) for i, v in enumerate(values)] + [_trial(8, None, "PRUNED"), _trial(9, None, "FAIL")]
    top = [0.91, 0.90, 0.89, 0.88, 0.86]
    result = flatness(trials)
    assert result.top == 5
    assert result.gap == pytest.approx(0.91 - 0.86)
    assert result.std == pytest.approx(np.std(top, ddof=1))


def test_lower_is_better_counts_the_gap_upwards():
    trials = [_trial(i, v) for i, v in enumerate([0.3, 0.1, 0.2, 0.5])]
    assert flatness(trials, k=3, higher_is_better=False) == Flatness(3, pytest.approx(0.2), pytest.approx(0.1))


def test_few_or_no_completed_trials():
    assert flatness([]) is None
    assert flatness([_trial(0, 0.5), _trial(1, float("nan")), _trial(2, None, "PRUNED")]) is None
    two = flatness([_trial(0, 0.5), _trial(1, 0.7)])
    assert two.top == 2 and two.gap == pytest.approx(0.2) and two.std == pytest.approx(math.sqrt(0.02))


def test_a_flat_top_has_zero_gap():
    assert flatness([_trial(i, 0.8) for i in range(7)]) == Flatness(5, 0.0, 0.0)


def test_k_below_two_is_refused():
    with pytest.raises(ValueError, match="k: expected at least 2"):
        flatness([_trial(0, 0.5)], k=1)
