"""Cells: the grid datasets × imbalance ratios × models × methods that a spec expands into, each
planned once: its method resolved for its model and task, and its trial budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.methods.registry import Method
from harness.plan import resolve
from harness.spec.schema import DatasetSpec, Spec
from harness.vocabulary import task_of

if TYPE_CHECKING:
    from harness.plan.data import DataProvider


@dataclass(frozen=True)
class Cell:
    """One (dataset, imbalance ratio, model, method) combination: one study, one parent run.

    ``model`` is an entry of the spec's ``models`` (None: the spec's first model); an ensemble
    method is its own learner and gets :class:`~harness.spec.schema.EnsembleModel`.
    ``config`` is the method as the spec configures it for this model and this dataset's task
    (:func:`harness.plan.resolve.cell_method`) and ``budget`` its number of trials: the one
    place either is decided. Neither enters a cell's identity (equality, hash).
    """

    dataset: DatasetSpec
    ratio: float | str
    method: str
    model: Any = None
    config: Method | None = field(default=None, compare=False, repr=False)
    budget: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.config is None:
            raise TypeError(f"Cell {self.label}: expected a planned cell (harness.plan.cells.planned), got no method config")

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


def planned(spec: Spec, dataset: DatasetSpec, ratio: float | str, method: str, model: Any = None, *,
            task: str | None = None) -> Cell:
    """The cell with its method resolved (for ``model``, default the spec's first, and for the
    dataset's ``task``; default: as :meth:`Spec.task_of` declares it) and its trial budget."""
    config = resolve.cell_method(spec, task or spec.task_of(dataset.key), method, model)
    return Cell(dataset, ratio, method, model, config, resolve.trial_budget(spec, config))


def grid(spec: Spec) -> list[tuple[DatasetSpec, float | str, str, Any]]:
    """The (dataset, ratio, method key, model entry) of every cell, unplanned, in the order
    datasets, ratios, models, methods; an ensemble method (its own learner) once per dataset and
    ratio, after the models' cells; entries with ``only`` keep to their part of the grid."""
    ensembles = [m for m in spec.method_keys if resolve.is_ensemble(spec, m)]
    others = [m for m in spec.method_keys if m not in ensembles]
    cells = [(d, r, m, model) for d in spec.datasets for r in spec.ratios_of(d)
             for (m, model) in [*((m, model) for model in spec.models for m in others),
                                *((m, resolve.models_for(spec, m)[0]) for m in ensembles)]]
    near = {(d.key, r) for d in spec.datasets for r in spec.ratios_of(d) if spec.near_duplicate(d.key, r)}
    return [(d, r, m, model) for d, r, m, model in cells if spec.runs(d.key, r, model, m) and (d.key, r) not in near]


def expand(spec: Spec, data: DataProvider | None = None) -> list[Cell]:
    """All cells of ``spec`` (:func:`grid`), planned. A dataset's task comes from ``data`` (the
    loaded set) when given, else from the spec and catalogue (nothing is loaded)."""
    tasks = {d.key: task_of(data.pool(d).n_classes) if data is not None else None for d in spec.datasets}
    return [planned(spec, d, r, m, model, task=tasks[d.key]) for d, r, m, model in grid(spec)]
