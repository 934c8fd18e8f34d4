"""The Bayesian signed-rank test with a region of practical equivalence (ROPE), fast.

Benavoli, Corani, Demšar & Zaffalon, "Time for a change: a tutorial for comparing multiple
classifiers through Bayesian analysis", JMLR 18 (2017); the test is ``baycomp.SignedRankTest``.
The report shows its P(better) over dataset effects as a secondary column only: its "better" is
the plurality of the posterior's three regions (above-ROPE Walsh averages the most numerous),
which can say 1.00 with a median gain inside the ROPE. The decision is
:mod:`harness.report.effects`'.
"""

from __future__ import annotations

import numpy as np
from baycomp import SignedRankTest
from baycomp.utils import check_args

N_SAMPLES = 10_000  # posterior samples: Monte Carlo error of a probability ≤ 0.005


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

    Both arrays hold values oriented so that higher is better, one per dataset (or cell). This is
    ``baycomp.SignedRankTest.probs(baseline, method, rope, random_state=seed)``: baycomp's
    "left" is the baseline, its "right" the method.
    """
    probs = FastSignedRankTest.probs(baseline, method, rope=rope, nsamples=n_samples, random_state=seed)
    if rope <= 0:  # without a rope baycomp returns (P(worse), P(better))
        return float(probs[0]), 0.0, float(probs[1])
    worse, equivalent, better = probs
    return float(worse), float(equivalent), float(better)
