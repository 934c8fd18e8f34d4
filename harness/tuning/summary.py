"""Summaries of a cell's tuning: how flat the objective was near its best trials.

A flat top (the best few trials within noise of each other) says the budget found a plateau and
the chosen configuration is one of several as good; a steep top says more trials could still pay.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class _Trial(Protocol):
    state: str

    @property
    def value(self) -> float | None: ...


@dataclass(frozen=True)
class Flatness:
    """The top of the validation scores: ``gap`` = best − ``top``-th best (≥ 0, measured in the
    direction of improvement, so also ≥ 0 for a lower-is-better metric) and ``std`` (sample
    standard deviation, ddof = 1) of those ``top`` scores."""

    top: int
    gap: float
    std: float


def flatness(trials: Iterable[_Trial], *, k: int = 5, higher_is_better: bool = True) -> Flatness | None:
    """How flat the objective is among the ``k`` best completed trials.

    Parameters
    ----------
    trials : iterable of TrialRecord
        Anything with ``.state`` (``"COMPLETE"`` counts) and ``.value`` (the first tuning
        metric's validation score; non-finite values are left out).
    k : int, default 5
        How many of the best trials to compare; fewer when fewer completed (``top`` says how many).
    higher_is_better : bool, default True
        The metric's direction (``metrics.get(name).higher_is_better``).

    Returns
    -------
    Flatness or None
        None when fewer than two trials completed with a finite score.

    Examples
    --------
    >>> from types import SimpleNamespace as T
    >>> flatness([T(state="COMPLETE", value=v) for v in (0.9, 0.8, 0.85)], k=2)
    Flatness(top=2, gap=0.050000000000000044, std=0.03535533905932741)
    """
    if k < 2:
        raise ValueError(f"k: expected at least 2 trials to compare, got {k}")
    scores = [t.value for t in trials if t.state == "COMPLETE" and t.value is not None and math.isfinite(t.value)]
    if len(scores) < 2:
        return None
    best = sorted(scores, reverse=higher_is_better)[:k]
    mean = sum(best) / len(best)
    std = math.sqrt(sum((s - mean) ** 2 for s in best) / (len(best) - 1))
    return Flatness(top=len(best), gap=abs(best[0] - best[-1]), std=std)
