"""Cells: the grid datasets × imbalance ratios × methods that a spec expands into."""

from __future__ import annotations

from dataclasses import dataclass

from .spec import DatasetSpec, Spec


@dataclass(frozen=True)
class Cell:
    """One (dataset, imbalance ratio, method) combination: one study, one parent run."""

    dataset: DatasetSpec
    ratio: float | str
    method: str

    @property
    def ratio_label(self) -> str:
        return self.ratio if isinstance(self.ratio, str) else f"{self.ratio:g}"

    @property
    def label(self) -> str:
        """Human-readable name, e.g. ``synthetic/gaussian ρ=10 focal``."""
        return f"{self.dataset.key} ρ={self.ratio_label} {self.method}"


def expand(spec: Spec) -> list[Cell]:
    """All cells of ``spec``, in the order datasets, then ratios, then methods."""
    return [Cell(d, r, m) for d in spec.datasets for r in spec.imbalance_ratios for m in spec.methods]
