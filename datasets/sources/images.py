"""Image sets that ship offline: scikit-learn's 8×8 digits, and Fashion-MNIST from the IDX files
of Debian's ``dataset-fashion-mnist`` package (or a folder the user names). Nothing is downloaded.

Each image is one row of ``X`` (pixels flattened in C order, as float64 in [0, 255] for
Fashion-MNIST and [0, 16] for digits) and the dataset declares its ``image_shape`` (channels,
height, width), which a convolutional learner reads. Every label is its own class (multi-class:
the long-tailed or step profile applies), unless ``positive`` names one class: then that class is
1 and every other class 0 (binary one-vs-rest, subsampled to the spec's ratio ρ).

Fashion-MNIST's own train (60,000) and test (10,000) files are pooled: the suite draws its own
seeded subsample and splits.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from ..base import DataError, Dataset, Info, Source

DEBIAN_PACKAGE = "dataset-fashion-mnist"
DEBIAN_FOLDER = "/usr/share/datasets/fashion-mnist"
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_IDX_UBYTE = 0x08  # the IDX type code of unsigned bytes
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")


def _check_positive(name: str, positive: int | None, n_classes: int) -> None:
    if positive is not None and (isinstance(positive, bool) or not isinstance(positive, int)
                                 or not 0 <= positive < n_classes):
        raise DataError(f"{name}: positive: expected an integer in 0..{n_classes - 1} (one class against the rest) "
                        f"or none (every class), got {positive!r}")


@dataclass(frozen=True)
class DigitImageParams:
    """positive: the digit that is class 1 against all others (binary); none: ten classes."""

    positive: int | None = None

    def check(self) -> None:
        _check_positive(DIGITS.name, self.positive, 10)


@dataclass(frozen=True)
class FashionParams:
    """folder: where the four IDX files are (gzipped or not); positive: the class (0..9, e.g. 0
    T-shirt/top) that is class 1 against all others (binary); none: ten classes."""

    folder: str = DEBIAN_FOLDER
    positive: int | None = None

    def check(self) -> None:
        if not isinstance(self.folder, str) or not self.folder:
            raise DataError(f"{FASHION.name}: folder: expected the path of a folder holding the IDX files, "
                            f"got {self.folder!r}")
        _check_positive(FASHION.name, self.positive, 10)


def _labels(y: np.ndarray, positive: int | None) -> np.ndarray:
    return (y == positive).astype(np.int64) if positive is not None else y.astype(np.int64)


def _digits(params: DigitImageParams, seed: int) -> Dataset:
    data = load_digits()
    return Dataset(DIGITS.name, data.data.astype(np.float64), _labels(data.target, params.positive),
                   DIGITS.citation, image_shape=(1, 8, 8))


def _idx_path(folder: Path, stem: str) -> Path | None:
    """``stem`` or ``stem.gz`` in ``folder`` (the plain file first); None when neither is there."""
    for path in (folder / stem, folder / f"{stem}.gz"):
        if path.is_file():
            return path
    return None


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (LeCun's MNIST format, gzipped or not) as a uint8 array.

    The header is two zero bytes, the type code 0x08 (unsigned byte), the number of dimensions
    D, then D big-endian 32-bit sizes; the data follow in C order. A file that is not that, or
    is cut short, raises :class:`DataError` naming it.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{FASHION.name}: folder: cannot read {str(path)!r}: {exc}") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != _IDX_UBYTE or raw[3] == 0:
        raise DataError(f"{FASHION.name}: folder: {str(path)!r} is not an IDX file of unsigned bytes "
                        f"(expected the header 00 00 08 <dims>, got {raw[:4].hex(' ') or 'an empty file'})")
    dims = raw[3]
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=dims, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise DataError(f"{FASHION.name}: folder: {str(path)!r} holds {data.size} bytes of data, expected "
                        f"{int(np.prod(shape))} for shape {shape}")
    return data.reshape(shape)


def _missing(folder: Path, stems: list[str]) -> DataError:
    """The one-line error for IDX files that are not there: the Debian package when the default
    folder is missing, else the folder and the first file it lacks."""
    if str(folder) == DEBIAN_FOLDER:
        return DataError(f"{FASHION.name}: Fashion-MNIST is not installed: expected the IDX files in {DEBIAN_FOLDER} "
                         f"from Debian's package {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE}), or name a "
                         "folder with params.folder")
    return DataError(f"{FASHION.name}: folder: {str(folder)!r} holds no {stems[0]} (nor {stems[0]}.gz); expected "
                     f"the four IDX files {', '.join(IDX_FILES)}")


def _fashion(params: FashionParams, seed: int) -> Dataset:
    folder = Path(params.folder).expanduser()
    paths = [_idx_path(folder, stem) for stem in IDX_FILES]
    if any(p is None for p in paths):
        raise _missing(folder, [s for s, p in zip(IDX_FILES, paths) if p is None])
    train_x, train_y, test_x, test_y = (read_idx(p) for p in paths)
    for images, labels, stem in ((train_x, train_y, IDX_FILES[0]), (test_x, test_y, IDX_FILES[2])):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{FASHION.name}: folder: {stem} of shape {images.shape} does not match its labels of "
                            f"shape {labels.shape}; expected (n, 28, 28) images and (n,) labels")
    images, labels = np.concatenate([train_x, test_x]), np.concatenate([train_y, test_y])
    X = images.reshape(len(images), -1).astype(np.float64)
    return Dataset(FASHION.name, X, _labels(labels, params.positive), FASHION.citation,
                   image_shape=(1, *images.shape[1:]))


DIGITS = Source(
    name="images/digits",
    params=DigitImageParams,
    load=_digits,
    citation="Alpaydin, Kaynak: Optical Recognition of Handwritten Digits, UCI, 1998 (scikit-learn's copy).",
    description="1,797 8x8 grey images of digits, 10 classes (positive: one digit vs the rest); image shape 1x8x8",
    collection="images",
    info=Info(rows=1797, numeric=64, categorical=0,
              class_counts=(178, 182, 177, 183, 181, 182, 181, 179, 174, 180)),
)

FASHION = Source(
    name="images/fashion_mnist",
    params=FashionParams,
    load=_fashion,
    citation="Xiao, Rasul, Vollgraf: Fashion-MNIST, arXiv:1708.07747, 2017 (Debian's dataset-fashion-mnist).",
    description="70,000 28x28 grey images of clothing, 10 classes (positive: one class vs the rest); image shape "
                "1x28x28; from Debian's dataset-fashion-mnist or params.folder",
    collection="images",
    info=Info(rows=70000, numeric=784, categorical=0, class_counts=(7000,) * 10),
)

SOURCES = (DIGITS, FASHION)
