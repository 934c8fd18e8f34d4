"""How long cells take: a per-cell cost model, fitted by ``benchmarks/perf/cell_cost.py``.

A cell's CPU seconds are its fits (trials × tunings + repetitions) times the cost of one fit,
log-linear in the rows it trains on (after resampling), its features and its classes, with
coefficients per learner family (``cell_cost.json`` beside this module). ``runner.py list``
sums them into an estimate for ``--jobs N`` and the run's progress bar advances by them, so its
ETA weighs a big cell as the big cell it is.
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import loss_zoo
from harness.methods import registry as methods_registry
from harness.plan.cells import Cell
from harness.spec.schema import Spec

COEFFICIENTS = Path(__file__).with_name("cell_cost.json")


@dataclass(frozen=True)
class Shape:
    """What a cell's cost depends on."""

    family: str  # "torch", "lightgbm", "<either>/autograd" or "ensemble/<method>" (each ensemble its own learner)
    rows: int  # training rows after resampling
    features: int
    classes: int
    fits: int

    def design(self) -> np.ndarray:
        return np.array([1.0, math.log(max(self.rows, 1)), math.log(max(self.features, 1)), math.log(self.classes)])


def family(cell: Cell, classes: int = 2) -> str:
    """The learner family; ``<family>/autograd`` for a torch or LightGBM cell whose loss has no
    common per-sample form on this task (it trains by autograd, unstacked, or boosts through a
    torch objective: 2–3× the cost of a stacked loss, measured on the zoo's cells)."""
    name = cell.model.name if cell.model is not None else "mlp"
    if name == "ensemble":
        return f"ensemble/{cell.method}"
    base = {"mlp": "torch", "logistic": "torch"}.get(name, name)
    if base in ("torch", "lightgbm") and not _common_form(cell.config.losses, classes):
        return f"{base}/autograd"
    return base


def _common_form(losses: tuple[str, ...], classes: int) -> bool:
    """Whether every loss a cell may train declares its per-sample terms for this task (a user's
    file loss declares none)."""
    known, terms = loss_zoo.available(), "binary_terms" if classes == 2 else "multiclass_terms"
    return all(name in known and getattr(known[name], terms) is not None for name in losses)


def _trained_rows(counts: np.ndarray, sampler: str | None) -> int:
    """Training rows after the method's sampler, on average over its tuned balance in [0, 1]:
    an over-sampler lifts the smaller classes halfway to the largest, an under-sampler cuts the
    larger ones halfway to the smallest."""
    if sampler is None or sampler == methods_registry.TUNED:
        return int(counts.sum())
    if sampler == "random_under":
        return int(counts.sum() - (counts - counts.min()).sum() / 2)
    return int(counts.sum() + (counts.max() - counts).sum() / 2)


def shape(spec: Spec, cell: Cell, y_train: np.ndarray, n_features: int) -> Shape:
    """The cell's shape, from its prepared training split (repetition 0)."""
    counts = np.bincount(y_train)
    tunings = spec.evaluation.fits if spec.tuning.per_repetition else 1
    return Shape(family(cell, int(counts.size)), _trained_rows(counts, cell.config.sampler), n_features, int(counts.size),
                 tunings * cell.budget + spec.evaluation.fits)


def shapes(spec: Spec, cells: list[Cell], data) -> list[Shape]:
    """Every cell's shape (``data``: the run's :class:`~harness.plan.data.DataProvider`)."""
    out = []
    for cell in cells:
        train = data.prepared(cell.dataset, cell.ratio, 0).train
        out.append(shape(spec, cell, train.y, train.X.shape[1]))
    return out


def estimates(cell_shapes: list[Shape]) -> list[float]:
    """Estimated CPU seconds per cell; without fitted coefficients, one second per fit."""
    if not COEFFICIENTS.exists():
        return [float(s.fits) for s in cell_shapes]
    model = CostModel.load()
    return [model.seconds(s) for s in cell_shapes]


@dataclass(frozen=True)
class CostModel:
    """Per family: coefficients of log(CPU seconds per fit) on :meth:`Shape.design`."""

    coefficients: dict[str, list[float]]
    fitted_on: str = ""

    def seconds(self, s: Shape) -> float:
        """A family not fitted takes the first fitted one of its kind (``ensemble/...``,
        ``torch/autograd``), else torch's."""
        kin = [f for f in self.coefficients if f.split("/")[0] == s.family.split("/")[0]]
        coef = self.coefficients.get(s.family) or (self.coefficients[kin[0]] if kin else self.coefficients["torch"])
        return s.fits * math.exp(float(s.design() @ np.asarray(coef)))

    @classmethod
    def fit(cls, shapes: list[Shape], seconds: list[float], fitted_on: str = "") -> "CostModel":
        """Least squares of log(seconds / fits) per family (log classes only where they vary)."""
        coefficients = {}
        for fam in sorted({s.family for s in shapes}):
            idx = [i for i, s in enumerate(shapes) if s.family == fam]
            X = np.array([shapes[i].design() for i in idx])
            y = np.log([seconds[i] / shapes[i].fits for i in idx])
            keep = [j for j in range(X.shape[1]) if j == 0 or np.ptp(X[:, j]) > 0]
            coef = np.zeros(X.shape[1])
            coef[keep] = np.linalg.lstsq(X[:, keep], y, rcond=None)[0]
            coefficients[fam] = coef.round(5).tolist()
        return cls(coefficients, fitted_on)

    def save(self, path: Path = COEFFICIENTS) -> None:
        path.write_text(json.dumps({"coefficients": self.coefficients, "fitted_on": self.fitted_on}, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path = COEFFICIENTS) -> "CostModel":
        return cls(**json.loads(path.read_text()))


def wall_seconds(costs: list[float], jobs: int) -> float:
    """Wall time of cells of these costs on ``jobs`` workers, each taking the next cell in the
    given order as it frees."""
    free = [0.0] * max(jobs, 1)
    for cost in costs:
        heapq.heappush(free, heapq.heappop(free) + cost)
    return max(free)


def estimate(costs: list[float], jobs: int) -> float:
    """Wall time of a run of cells of these costs on ``jobs`` workers, in the runner's order
    (costliest first)."""
    return wall_seconds(sorted(costs, reverse=True), jobs)


def duration(seconds: float) -> str:
    """``1 h 42 min``, ``7 min``, ``40 s``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
