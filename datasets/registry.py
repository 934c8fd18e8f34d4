"""The registry of dataset sources: each module under ``datasets/sources`` exposes ``SOURCE`` (or
``SOURCES`` for a family), discovered once; loading an entry by name, checked."""

from __future__ import annotations

import importlib
import pkgutil
from difflib import get_close_matches
from typing import Any

import numpy as np

from . import sources as _sources
from .base import DataError, Dataset, Source


def _discover() -> dict[str, Source]:
    found = {}
    for info in pkgutil.iter_modules(_sources.__path__):
        module = importlib.import_module(f"{_sources.__name__}.{info.name}")
        for source in getattr(module, "SOURCES", ()) or (getattr(module, "SOURCE", None),):
            if source is not None:
                found[source.name] = source
    return found


_REGISTRY = _discover()


def available() -> dict[str, Source]:
    """Catalogue entries by name."""
    return dict(_REGISTRY)


def get_source(name: str) -> Source:
    """The source called ``name``; an unknown name lists close matches and the catalogue."""
    if name not in _REGISTRY:
        close = get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise DataError(f"dataset: unknown name {name!r}{hint}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def check_dataset(ds: Dataset) -> Dataset:
    """Refuse data the suite cannot use: non-finite features, fewer than two classes, rows that are
    not the declared image shape."""
    if ds.X.ndim != 2 or ds.X.shape[0] != ds.y.shape[0] or ds.X.shape[0] == 0:
        raise DataError(f"{ds.name}: expected X of shape (n, d) matching y, got {ds.X.shape} and {ds.y.shape}")
    if ds.image_shape is not None and int(np.prod(ds.image_shape)) != ds.X.shape[1]:
        raise DataError(f"{ds.name}: expected rows of {int(np.prod(ds.image_shape))} pixels for images of shape "
                        f"{tuple(ds.image_shape)}, got {ds.X.shape[1]} columns")
    bad = ~np.isfinite(ds.X)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise DataError(f"{ds.name}: features hold NaN or inf ({int(bad.sum())} values; first at row {int(rows[0])}, column {int(cols[0])})")
    classes = np.unique(ds.y)
    if classes.size < 2:
        raise DataError(f"{ds.name}: expected at least two classes, got a single class ({int(classes[0])})")
    return ds


def load(name: str, params: dict[str, Any] | None = None, *, seed: int = 0) -> Dataset:
    """Load catalogue entry ``name`` with ``params`` and check it; ``seed`` matters for generated data."""
    source = get_source(name)
    return check_dataset(source.load(source.make_params(params), seed))
