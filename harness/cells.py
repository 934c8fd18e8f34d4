"""Cells: the grid datasets × imbalance ratios × models × methods that a spec expands into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .spec import DatasetSpec, Spec


@dataclass(frozen=True)
class Cell:
    """One (dataset, imbalance ratio, model, method) combination: one study, one parent run.

    ``model`` is an entry of the spec's ``models`` (None: the spec's first model); an ensemble
    method is its own learner and gets :class:`~harness.spec.EnsembleModel`.
    """

    dataset: DatasetSpec
    ratio: float | str
    method: str
    model: Any = None

    @property
    def ratio_label(self) -> str:
        return self.ratio if isinstance(self.ratio, str) else f"{self.ratio:g}"

    @property
    def model_key(self) -> str:
        return self.model.key if self.model is not None else "mlp"

    @property
    def seed_parts(self) -> tuple[str, ...]:
        """What the cell's training and TPE seeds add for its model (never its data seeds)."""
        return self.model.seed_parts if self.model is not None else ()

    @property
    def label(self) -> str:
        """Human-readable name, e.g. ``synthetic/gaussian ρ=10 mlp focal``."""
        return f"{self.dataset.key} ρ={self.ratio_label} {self.model_key} {self.method}"


def expand(spec: Spec) -> list[Cell]:
    """All cells of ``spec``, in the order datasets, ratios, models, methods; an ensemble method
    (its own learner) once per dataset and ratio, after the models' cells; entries with ``only``
    keep to their part of the grid."""
    ensembles = [m for m in spec.method_keys if spec.is_ensemble(m)]
    others = [m for m in spec.method_keys if m not in ensembles]
    cells = [cell for d in spec.datasets for r in spec.imbalance_ratios
             for cell in [*(Cell(d, r, m, model) for model in spec.models for m in others),
                          *(Cell(d, r, m, spec.models_for(m)[0]) for m in ensembles)]]
    return [c for c in cells if spec.runs(c.dataset.key, c.ratio, c.model, c.method)]
