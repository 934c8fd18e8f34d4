"""The catalogue as a table: what each entry holds, collections, and filters over them.

Fixed datasets describe themselves without loading (``Source.info``); generated ones are loaded
once with their default parameters. Filtered selections are sorted by name: a collection in a
spec always expands in that order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from .base import DataError, Info, Source
from .imbalance import largest_reachable_ratio
from .registry import available, get_source, load

TASKS = ("binary", "multiclass")


@dataclass(frozen=True)
class Entry:
    """One row of ``runner.py datasets``."""

    name: str
    collection: str
    info: Info
    largest_ratio: float
    citation: str

    @property
    def task(self) -> str:
        return self.info.task


@dataclass(frozen=True)
class Filters:
    """A selection of the catalogue; None leaves a criterion open.

    collection : a collection (``keel-binary``) or a name prefix (``keel`` = ``keel/...``)
    task : "binary" or "multiclass"
    max_rows : int, largest number of rows
    min_natural_ratio, max_natural_ratio : float, bounds on n_max / n_min (inclusive)
    """

    collection: str | None = None
    task: str | None = None
    max_rows: int | None = None
    min_natural_ratio: float | None = None
    max_natural_ratio: float | None = None

    def check(self) -> None:
        if self.task is not None and self.task not in TASKS:
            raise DataError(f"task: expected one of {', '.join(TASKS)}, got {self.task!r}")
        if self.collection is not None and self.collection not in collections():
            raise DataError(f"collection: unknown name {self.collection!r}; known: {', '.join(collections())}")
        if self.max_rows is not None and self.max_rows < 1:
            raise DataError(f"max_rows: expected an integer >= 1, got {self.max_rows!r}")
        for key in ("min_natural_ratio", "max_natural_ratio"):
            value = getattr(self, key)
            if value is not None and not (np.isfinite(value) and value >= 1):
                raise DataError(f"{key}: expected a finite number >= 1, got {value!r}")

    def describe(self) -> str:
        """The filters that are set, e.g. ``collection=keel-binary, max_rows=500``."""
        set_ = [f"{f.name}={getattr(self, f.name)}" for f in fields(self) if getattr(self, f.name) is not None]
        return ", ".join(set_) or "no filters"

    def keep(self, entry: Entry) -> bool:
        info = entry.info
        return ((self.collection is None or self.collection in (entry.collection, entry.name.split("/")[0]))
                and (self.task is None or info.task == self.task)
                and (self.max_rows is None or info.rows <= self.max_rows)
                and (self.min_natural_ratio is None or info.natural_ratio >= self.min_natural_ratio)
                and (self.max_natural_ratio is None or info.natural_ratio <= self.max_natural_ratio))


def collection_of(source: Source) -> str:
    """The source's collection; by default the first part of its name (``sklearn``, ``synthetic``)."""
    return source.collection or source.name.split("/")[0]


def collections() -> list[str]:
    """Collection names and name prefixes a filter accepts, sorted."""
    names = set()
    for name, source in available().items():
        if "/" in name:
            names.update({collection_of(source), name.split("/")[0]})
    return sorted(names)


@lru_cache(maxsize=None)
def _loaded_info(name: str) -> Info:
    ds = load(name)
    if ds.dense is not None:  # rows are scored locations (datasets.dense); the largest ρ uses the whole pool
        counts = np.bincount(ds.dense.targets[ds.dense.targets >= 0], minlength=2)
        return Info(int(counts.sum()), ds.dense.locations, 0, tuple(int(c) for c in counts), float(counts[0] / counts[1]))
    numeric, categorical = ds.feature_kinds
    return Info(len(ds.y), numeric, categorical, tuple(int(c) for c in np.bincount(ds.y)))


def info(name: str) -> Info:
    """What entry ``name`` holds: its declared info, else its default parameters loaded."""
    source = get_source(name)
    return source.info if source.info is not None else _loaded_info(name)


@lru_cache(maxsize=None)
def largest_ratio(counts: tuple[int, ...], fractions: tuple[float, float, float], min_test: int) -> float:
    """The largest reachable ρ for these class counts (see :func:`largest_reachable_ratio`)."""
    return largest_reachable_ratio(np.repeat(np.arange(len(counts)), counts), fractions, min_test)


def entries(filters: Filters | None = None, *, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
            min_test_minority: int = 10) -> list[Entry]:
    """Catalogue entries kept by ``filters``, sorted by name (the user's file, ``csv``, is not one)."""
    filters = filters or Filters()
    filters.check()
    out = []
    for name, source in sorted(available().items()):
        if "/" not in name:
            continue
        held = info(name)
        largest = held.largest or largest_ratio(held.class_counts, fractions, min_test_minority)
        entry = Entry(name, collection_of(source), held, largest,
                      source.citation)
        if filters.keep(entry):
            out.append(entry)
    return out


def select(filters: Filters, **options) -> list[str]:
    """Names kept by ``filters`` in name order; none kept is an error naming the filters."""
    names = [e.name for e in entries(filters, **options)]
    if not names:
        raise DataError(f"no dataset matches {filters.describe()}")
    return names


def content_fingerprint(X: np.ndarray, y: np.ndarray, decimals: int = 3) -> str:
    """Shape and content up to row order and printed precision: equal for the same data shipped
    twice (e.g. a KEEL copy rounded to 3 decimals of a UCI set)."""
    table = np.column_stack([np.round(X, decimals), y]).astype(np.float64) + 0.0
    table = table[np.lexsort(table.T[::-1])]
    return hashlib.sha256(f"{table.shape}".encode() + table.tobytes()).hexdigest()[:16]


def render(found: list[Entry], *, min_test_minority: int = 10) -> list[str]:
    """Lines of the catalogue table: one per entry, then the count line and the legend."""
    head = f"{'name':36s} {'rows':>6s} {'num+cat':>8s} {'classes':>7s} {'natural ρ':>9s} {'largest ρ':>9s}  {'collection':16s} source"
    lines = [head]
    for e in found:
        largest = f"{e.largest_ratio:9.2f}" if e.largest_ratio >= 1 else f"{'none':>9s}"
        kinds = f"{e.info.numeric}+{e.info.categorical}"
        lines.append(f"{e.name:36s} {e.info.rows:6d} {kinds:>8s} {e.info.n_classes:7d} {e.info.natural_ratio:9.2f} "
                     f"{largest}  {e.collection:16s} {e.citation}")
    binary = sum(e.task == "binary" for e in found)
    lines.append(f"\n{len(found)} datasets ({binary} binary, {len(found) - binary} multi-class)")
    lines.append(f"num+cat: numeric and categorical input columns (categorical ones are one-hot encoded). largest ρ: "
                 f"with a 60/20/20 split and at least {min_test_minority} samples of the smallest class in test "
                 "(spec key min_test_minority); multi-class ρ follows the long-tailed profile n_k = n_max·ρ^(-k/(C-1)).")
    return lines
