"""Dense canvases: faint digit glyphs among look-alike digits and noise, every location a binary
"object here" decision (the regime of Lin et al. 2017, in miniature).

Each object canvas (S×S) holds ``objects_per_canvas`` glyphs of ``digit`` drawn at ``contrast``
(faint), ``distractors`` glyphs of the other digits at intensities drawn from
[0.8·contrast, 1] (so brightness does not tell them apart) and Gaussian pixel noise; an empty
canvas holds the same clutter and no object. Glyphs are scikit-learn's 8×8 digits (Alpaydin &
Kaynak 1998; shipped with scikit-learn, no download), pasted by maximum. The location at pixel
centre x is positive when |x − c| ≤ ``positive_radius`` for an object centre c, ignored when
it is within ``ignore_radius`` but not positive (counted in no loss and no metric), negative
otherwise. Objects keep their ignore disks apart and inside the canvas, and no distractor
covers an object's glyph, so every object canvas has the same positives P and ignored I:
the location ratio moves with the number of empty canvases only (:mod:`datasets.dense`).

The pool holds ``n_object_canvases`` object canvases and enough empty ones to reach
``max_ratio``; everything is drawn from the seed the pipeline hashes from the cell's coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits

from ..base import DataError, Dataset, Source
from ..dense import IGNORE, Canvases

NAME = "dense/digit_canvases"
GLYPH = 8


@dataclass(frozen=True)
class CanvasParams:
    """Geometry, clutter and pool size; see the module docstring."""

    size: int = 32
    n_object_canvases: int = 40
    objects_per_canvas: int = 2
    digit: int = 3
    distractors: int = 6
    contrast: float = 0.5
    noise: float = 0.25
    positive_radius: float = 2.0
    ignore_radius: float = 3.5
    max_ratio: float = 10000.0

    def check(self) -> None:
        def bad(field: str, expected: str) -> DataError:
            return DataError(f"{NAME}: {field}: expected {expected}, got {getattr(self, field)!r}")

        for field, low in (("size", 2 * GLYPH), ("n_object_canvases", 3), ("objects_per_canvas", 1),
                           ("distractors", 0)):
            if not isinstance(getattr(self, field), int) or getattr(self, field) < low:
                raise bad(field, f"an integer >= {low}")
        if not isinstance(self.digit, int) or not 0 <= self.digit <= 9:
            raise bad("digit", "an integer in 0..9")
        if not 0 < self.contrast <= 1:
            raise bad("contrast", "a number in (0, 1]")
        if not self.noise >= 0:
            raise bad("noise", "a number >= 0")
        if not 0 < self.positive_radius <= self.ignore_radius <= GLYPH / 2:
            raise bad("ignore_radius", f"positive_radius <= ignore_radius <= {GLYPH // 2}")
        if self.objects_per_canvas * (GLYPH + 1) ** 2 > (self.size - GLYPH) ** 2:
            raise bad("objects_per_canvas", f"at most {(self.size - GLYPH) ** 2 // (GLYPH + 1) ** 2} on a {self.size}×{self.size} canvas")
        if not self.max_ratio >= 1:
            raise bad("max_ratio", "a number >= 1")


def object_disks(params: CanvasParams) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (8, 8)-offset masks of one object's positive and ignored locations, relative to
    the glyph's top-left corner (centre at (3.5, 3.5))."""
    pad = math.ceil(params.ignore_radius)
    offsets = np.arange(-pad, GLYPH + pad) - (GLYPH - 1) / 2
    d = np.hypot(offsets[:, None], offsets[None, :])
    positive = d <= params.positive_radius
    return positive, (d <= params.ignore_radius) & ~positive


def _free_corner(rng: np.random.Generator, size: int, taken: list[tuple[int, int]], spacing: int,
                 tries: int = 200) -> tuple[int, int] | None:
    """A top-left corner at Chebyshev distance >= ``spacing`` from every ``taken`` one, or None."""
    for _ in range(tries):
        r, c = (int(v) for v in rng.integers(0, size - GLYPH + 1, size=2))
        if all(max(abs(r - a), abs(c - b)) >= spacing for a, b in taken):
            return r, c
    return None


def _layout(rng: np.random.Generator, params: CanvasParams, n_objects: int) -> tuple[list, list]:
    """Corners of the objects (glyphs apart: centres 9 apart keep ignore disks of radius <= 4 apart)
    and of the distractors (never on an object's glyph); redrawn whole until every one fits."""
    for _ in range(1000):
        objects: list[tuple[int, int]] = []
        while len(objects) < n_objects and (corner := _free_corner(rng, params.size, objects, GLYPH + 1)):
            objects.append(corner)
        others = [_free_corner(rng, params.size, objects, GLYPH) for _ in range(params.distractors)]
        if len(objects) == n_objects and None not in others:
            return objects, others
    raise DataError(f"{NAME}: objects_per_canvas: {n_objects} objects and {params.distractors} distractors do not fit "
                    f"on a {params.size}×{params.size} canvas; lower them or raise size")


def _canvas(rng, params: CanvasParams, glyphs, others, n_objects: int) -> tuple[np.ndarray, np.ndarray]:
    """One canvas (S, S) float32 and its targets (S, S) int8."""
    s, pad = params.size, math.ceil(params.ignore_radius)
    image = np.zeros((s, s), dtype=np.float32)
    positive, ignored = object_disks(params)
    big = np.zeros((2, s + 2 * pad, s + 2 * pad), dtype=bool)  # positive and ignore disks, padded
    corners, clutter = _layout(rng, params, n_objects)
    for r, c in corners:
        image[r:r + GLYPH, c:c + GLYPH] = np.maximum(image[r:r + GLYPH, c:c + GLYPH],
                                                    params.contrast * glyphs[rng.integers(len(glyphs))])
        big[0, r:r + positive.shape[0], c:c + positive.shape[1]] |= positive
        big[1, r:r + ignored.shape[0], c:c + ignored.shape[1]] |= ignored
    targets = np.zeros((s, s), dtype=np.int8)
    targets[big[1, pad:pad + s, pad:pad + s]] = IGNORE
    targets[big[0, pad:pad + s, pad:pad + s]] = 1
    for r, c in clutter:
        level = rng.uniform(0.8 * params.contrast, 1.0)
        image[r:r + GLYPH, c:c + GLYPH] = np.maximum(image[r:r + GLYPH, c:c + GLYPH],
                                                    level * others[rng.integers(len(others))])
    image += rng.normal(0.0, params.noise, size=image.shape).astype(np.float32)
    return image, targets


def _load(params: CanvasParams, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    glyphs, others = images[digits.target == params.digit], images[digits.target != params.digit]
    positive, ignored = object_disks(params)
    layout = Canvases(params.size, np.zeros((0, params.size**2), dtype=np.int8),
                      params.objects_per_canvas * int(positive.sum()), params.objects_per_canvas * int(ignored.sum()))
    n_empty = max(0, math.ceil(params.n_object_canvases * layout.empty_per_object(params.max_ratio)))
    n = params.n_object_canvases + n_empty
    X = np.empty((n, 2 * params.size**2), dtype=np.float32)
    targets = np.empty((n, params.size**2), dtype=np.int8)
    y = np.r_[np.ones(params.n_object_canvases, dtype=np.int64), np.zeros(n_empty, dtype=np.int64)]
    for i in range(n):
        image, t = _canvas(rng, params, glyphs, others, params.objects_per_canvas if y[i] else 0)
        X[i, : params.size**2], targets[i] = image.ravel(), t.ravel()
    X[:, params.size**2:] = (targets != IGNORE)
    layout = Canvases(params.size, targets, layout.positives, layout.ignored)
    return Dataset(NAME, X, y, SOURCE.citation, dense=layout)


SOURCE = Source(
    name=NAME,
    params=CanvasParams,
    load=_load,
    citation="Generated from scikit-learn's 8x8 digits (Alpaydin, Kaynak, UCI 1998); dense task after Lin et al., ICCV 2017.",
    description="32x32 canvases, faint digit-3 objects among look-alike digits; every location a binary decision",
)
