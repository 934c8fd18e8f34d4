"""Each method against a baseline over cells: the Bayesian signed-rank test with a region of
practical equivalence (ROPE), the median difference with a bootstrap interval, and Wilcoxon–Holm.

Benavoli, Corani, Demšar & Zaffalon, "Time for a change: a tutorial for comparing multiple
classifiers through Bayesian analysis", JMLR 18 (2017): the posterior of the signed-rank test
(Benavoli et al., ICML 2014) says how probable it is that a method is practically better, equivalent
or worse than the baseline, which a p-value does not. The test is ``baycomp.SignedRankTest``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from baycomp import SignedRankTest
from baycomp.utils import check_args
from scipy import stats as sps

from harness.metrics import per_task
from harness.report import stats
from harness.seeding import derive_seed

ROPE = 0.01  # on metrics in [0, 1]: differences of at most one point are practically nothing
RELATIVE_ROPE = frozenset({"log_loss"})  # unbounded: the rope is ROPE × the baseline's median value
N_SAMPLES = 10_000  # posterior samples: Monte Carlo error of a probability ≤ 0.005
N_RESAMPLES = 2_000  # bootstrap resamples of the median difference


def rope_width(metric: str, baseline_values: np.ndarray, rope: float = ROPE) -> float:
    """Width of the ROPE for ``metric``, in the metric's own units.

    Parameters
    ----------
    metric : str
        Metric name; metrics in :data:`RELATIVE_ROPE` (log loss, unbounded) get a relative rope.
    baseline_values : ndarray of shape (n_cells,)
        The baseline's cell values, whose median scales a relative rope.
    rope : float, default 0.01
        Absolute width on [0, 1] metrics; relative width (0.01 = 1 %) on unbounded ones.
    """
    if metric in RELATIVE_ROPE:
        return float(rope * np.median(np.abs(baseline_values)))
    return float(rope)


class FastSignedRankTest(SignedRankTest):
    """``baycomp.SignedRankTest`` with its posterior sampled in O(samples · n) instead of
    O(samples · n²). Hand-written because baycomp forms each sample's n × n weight matrix in a
    Python loop: seconds to minutes per comparison at the full sweep's thousands of cells. The
    same Dirichlet draws and the same Heaviside rule on the same float sums, so the same
    posterior to float rounding (``tests/report/test_decision.py`` checks it against baycomp's own, ties
    included; a sample exactly on a decision boundary, as with identical methods and no ROPE, may
    fall on either side).

    Sorted by difference, the cells k with d_j + d_k above a threshold form a suffix for every j
    (float addition is monotone), those equal to it the block just before; so each sample's sum
    of w_j w_k over them is w · (tail sums at each row's boundary)."""

    @classmethod
    def sample(cls, x, y, rope=0, *, prior=0.5, nsamples=50000, random_state=None):
        check_args(x, y, rope, nsamples)
        raw = np.hstack(([0.0], y - x))  # baycomp's pseudo-observation 0 first, with the prior's weight
        weights = np.ones(len(raw))
        weights[0] = prior
        order = np.argsort(raw, kind="stable")
        draws = np.random.RandomState(random_state).dirichlet(weights, nsamples)[:, order]  # baycomp's draws
        diff = raw[order]
        sums = diff[:, None] + diff[None, :]
        samples = np.zeros((nsamples, 3))
        if rope > 0:
            samples[:, 2] = _mass(draws, sums, 2 * rope, above=True)
            samples[:, 0] = _mass(draws, -sums, 2 * rope, above=False)
            samples[:, 1] = -samples[:, 0] - samples[:, 2] + 1
        else:
            samples[:, 2] = _mass(draws, sums, 0.0, above=True)
            samples[:, 0] = -samples[:, 2] + 1
        return samples


def _mass(draws: np.ndarray, sums: np.ndarray, thresh: float, *, above: bool, block: int = 2000) -> np.ndarray:
    """Per sample Σ_jk w_j w_k (1[sums_jk > thresh] + ½ 1[sums_jk = thresh]) with the cells sorted
    by difference: row j's cells above form a suffix (``above``, sums = d_j + d_k) or a prefix
    (sums = −(d_j + d_k)), the equal ones the block next to it."""
    n = sums.shape[0]
    n_gt, n_eq = (sums > thresh).sum(axis=1), (sums == thresh).sum(axis=1)
    if above:
        start_gt, start_eq = n - n_gt, n - n_gt - n_eq  # [start_gt, n) above, [start_eq, start_gt) equal
    else:
        start_gt, start_eq = np.zeros(n, int), n_gt  # [0, n_gt) above, [n_gt, n_gt + n_eq) equal
    out = np.empty(len(draws))
    for lo in range(0, len(draws), block):
        w = draws[lo:lo + block]
        tail = np.zeros((len(w), n + 1))
        tail[:, :n] = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]  # tail[:, i] = Σ_{k ≥ i} w_k
        if above:
            row = tail[:, start_gt] + 0.5 * (tail[:, start_eq] - tail[:, start_gt])
        else:
            row = (tail[:, start_gt] - tail[:, n_gt]) + 0.5 * (tail[:, n_gt] - tail[:, n_gt + n_eq])
        out[lo:lo + block] = np.sum(w * row, axis=1)
    return out


def signed_rank(baseline: np.ndarray, method: np.ndarray, rope: float, seed: int,
                n_samples: int = N_SAMPLES) -> tuple[float, float, float]:
    """``(P(worse), P(equivalent), P(better))`` of ``method`` against ``baseline``.

    Both arrays hold values oriented so that higher is better, one per cell. This is
    ``baycomp.SignedRankTest.probs(baseline, method, rope, random_state=seed)``: baycomp's
    "left" is the baseline, its "right" the method.
    """
    probs = FastSignedRankTest.probs(baseline, method, rope=rope, nsamples=n_samples, random_state=seed)
    if rope <= 0:  # without a rope baycomp returns (P(worse), P(better))
        return float(probs[0]), 0.0, float(probs[1])
    worse, equivalent, better = probs
    return float(worse), float(equivalent), float(better)


def median_interval(diff: np.ndarray, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of ``diff`` (``scipy.stats.bootstrap``, seeded).

    Returns ``(nan, nan)`` with fewer than 3 values, where a resampled median means little.
    """
    if len(diff) < 3:
        return float("nan"), float("nan")
    res = sps.bootstrap((diff,), np.median, confidence_level=level, n_resamples=N_RESAMPLES,
                        method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def against_baseline(means: pd.DataFrame, metric: str, *, baseline: str = "ce", rope: float = ROPE,
                     seed: int = 0, n_samples: int = N_SAMPLES, label: str = "") -> pd.DataFrame:
    """Each method of a cells × methods matrix against ``baseline`` on ``metric``.

    Parameters
    ----------
    means : DataFrame of shape (n_cells, n_methods)
        Mean over repetitions per cell (complete cells only), as from :func:`stats.cell_means`.
    metric : str
        Metric name; its direction comes from the metric registry.
    baseline, rope, seed, n_samples, label
        Baseline method; ROPE (see :func:`rope_width`); base seed, hashed with ``label``, the
        metric and the method into each comparison's own seed; posterior samples.

    Returns
    -------
    DataFrame
        One row per method: ``method, cells, wins, ties, losses, median_diff`` (positive = better
        than the baseline), ``ci_low, ci_high`` (bootstrap 95 %), ``rope`` (metric units),
        ``p_worse, p_equivalent, p_better`` (Bayesian), ``p, p_holm`` (Wilcoxon, Holm over methods).
    """
    out = stats.versus_baseline(means, metric, baseline)
    if out.empty:
        return out
    sign = 1.0 if per_task.higher_is_better(metric) else -1.0
    base = sign * means[baseline].to_numpy()
    width = rope_width(metric, means[baseline].to_numpy(), rope)
    extra = []
    for method in out["method"]:
        other = sign * means[method].to_numpy()
        s = derive_seed(seed, label, metric, method)
        low, high = median_interval(other - base, s)
        worse, equivalent, better = signed_rank(base, other, width, s, n_samples)
        extra.append({"ci_low": low, "ci_high": high, "rope": width, "p_worse": worse,
                      "p_equivalent": equivalent, "p_better": better})
    return pd.concat([out, pd.DataFrame(extra)], axis=1)
