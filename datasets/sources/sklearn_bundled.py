"""Binary datasets shipped inside scikit-learn: breast cancer, and digits one-vs-rest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine

from ..base import DataError, Dataset, Source


@dataclass(frozen=True)
class NoParams:
    pass


@dataclass(frozen=True)
class DigitParams:
    """digit: the positive class, against all other digits."""

    digit: int = 0

    def check(self) -> None:
        if not isinstance(self.digit, int) or not 0 <= self.digit <= 9:
            raise DataError(f"sklearn/digits: digit: expected an integer in 0..9, got {self.digit!r}")


def _breast_cancer(params: NoParams, seed: int) -> Dataset:
    data = load_breast_cancer()
    # scikit-learn codes malignant as 0; the positive (minority) class here is malignant.
    y = (data.target == 0).astype(np.int64)
    return Dataset("sklearn/breast_cancer", data.data.astype(np.float64), y, BREAST_CANCER.citation)


def _digits(params: DigitParams, seed: int) -> Dataset:
    data = load_digits()
    y = (data.target == params.digit).astype(np.int64)
    return Dataset("sklearn/digits", data.data.astype(np.float64), y, DIGITS.citation)


BREAST_CANCER = Source(
    name="sklearn/breast_cancer",
    params=NoParams,
    load=_breast_cancer,
    citation="Wolberg, Street, Mangasarian: Breast Cancer Wisconsin (Diagnostic), UCI, 1995.",
    description="569 tumours, 30 features; positive = malignant",
)

DIGITS = Source(
    name="sklearn/digits",
    params=DigitParams,
    load=_digits,
    citation="Alpaydin, Kaynak: Optical Recognition of Handwritten Digits, UCI, 1998.",
    description="8x8 digit images, 64 features; positive = one digit vs the rest",
)

def _digits_multiclass(params: NoParams, seed: int) -> Dataset:
    data = load_digits()
    return Dataset("sklearn/digits_multiclass", data.data.astype(np.float64), data.target.astype(np.int64),
                   DIGITS.citation)


def _wine(params: NoParams, seed: int) -> Dataset:
    data = load_wine()
    return Dataset("sklearn/wine", data.data.astype(np.float64), data.target.astype(np.int64), WINE.citation)


DIGITS_MULTICLASS = Source(
    name="sklearn/digits_multiclass",
    params=NoParams,
    load=_digits_multiclass,
    citation=DIGITS.citation,
    description="8x8 digit images, 10 classes (long-tailed profile at ratio ρ)",
)

WINE = Source(
    name="sklearn/wine",
    params=NoParams,
    load=_wine,
    citation="Aeberhard, Forina: Wine, UCI, 1991.",
    description="178 wines, 13 features, 3 cultivars (long-tailed profile at ratio ρ)",
)

SOURCES = (BREAST_CANCER, DIGITS, DIGITS_MULTICLASS, WINE)
