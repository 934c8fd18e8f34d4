"""The image source: digits and Fashion-MNIST as flattened images with their shape, IDX reading,
one-line errors for a missing package or a bad folder, and the balanced test split."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from conftest import write_spec
from sklearn.datasets import load_digits

import datasets
import runner
from datasets.sources import images

FASHION_INSTALLED = all(images._idx_path(Path(images.DEBIAN_FOLDER), s) for s in images.IDX_FILES)
needs_fashion = pytest.mark.skipif(not FASHION_INSTALLED, reason=f"Fashion-MNIST not installed: Debian's package "
                                   f"{images.DEBIAN_PACKAGE} puts it in {images.DEBIAN_FOLDER}")


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def _fake_fashion(folder: Path, *, per_class: int = 6, gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The four IDX files of a tiny 10-class set of 28×28 images; (images, labels) pooled train then test."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    pooled = []
    for split, n in (("train", per_class), ("t10k", 2)):
        y = np.repeat(np.arange(10), n).astype(np.uint8)
        x = rng.integers(0, 256, (len(y), 28, 28)).astype(np.uint8)
        for kind, array in (("images-idx3", x), ("labels-idx1", y)):
            data = _idx_bytes(array)
            name = folder / f"{split}-{kind}-ubyte"
            if gz:
                with gzip.open(f"{name}.gz", "wb") as handle:
                    handle.write(data)
            else:
                name.write_bytes(data)
        pooled.append((x, y))
    return np.concatenate([p[0] for p in pooled]), np.concatenate([p[1] for p in pooled])


def test_digits_are_sklearns_images_flattened_with_their_shape():
    ds = datasets.load("images/digits")
    reference = load_digits()
    assert ds.image_shape == (1, 8, 8) and ds.X.shape == (1797, 64) and ds.n_classes == 10
    np.testing.assert_array_equal(ds.X.reshape(-1, *ds.image_shape)[:, 0], reference.images)
    np.testing.assert_array_equal(ds.y, reference.target)
    assert datasets.catalogue.info("images/digits").class_counts == tuple(np.bincount(reference.target))


def test_positive_is_one_class_against_the_rest():
    ds = datasets.load("images/digits", {"positive": 3})
    np.testing.assert_array_equal(ds.y, (load_digits().target == 3).astype(int))


@pytest.mark.parametrize("value", [10, -1, "3", True])
def test_bad_positive_is_one_line(value):
    with pytest.raises(datasets.DataError, match=r"^images/digits: positive: expected an integer in 0\.\.9") as err:
        datasets.load("images/digits", {"positive": value})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_from_a_named_folder_gzipped_or_not(tmp_path, gz):
    x, y = _fake_fashion(tmp_path / "fm", gz=gz)
    ds = datasets.load("images/fashion_mnist", {"folder": str(tmp_path / "fm")})
    assert ds.image_shape == (1, 28, 28)
    np.testing.assert_array_equal(ds.X.reshape(-1, 28, 28), x)  # train rows first, then t10k
    np.testing.assert_array_equal(ds.y, y)


def test_read_idx_refuses_a_file_that_is_not_idx_or_cut_short(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(datasets.DataError, match="is not an IDX file of unsigned bytes"):
        images.read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(_idx_bytes(np.zeros((4, 3, 3)))[:-5])
    with pytest.raises(datasets.DataError, match=r"holds 31 bytes of data, expected 36 for shape \(4, 3, 3\)"):
        images.read_idx(short)


def _run_one_line(workdir, capsys, spec: dict) -> str:
    code = runner.main(["run", str(write_spec(workdir, spec)), "--quiet", "--no-tracking"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert not (workdir / "results").exists()
    return err[0]


def _spec(**params) -> dict:
    return {"name": "img", "datasets": [{"name": "images/fashion_mnist", "params": params}],
            "imbalance_ratios": [1], "methods": ["ce"], "model": {"name": "cnn"}, "tuning": {"n_trials": 1}}


def test_missing_package_is_one_line_naming_it_exit_2(workdir, capsys, monkeypatch):
    absent = str(workdir / "no-such-package-folder")
    monkeypatch.setattr(images, "DEBIAN_FOLDER", absent)
    line = _run_one_line(workdir, capsys, _spec(folder=absent))
    assert "Fashion-MNIST is not installed" in line and "dataset-fashion-mnist" in line
    assert "download" not in line.lower()


def test_bad_folder_is_one_line_naming_folder_and_file_exit_2(workdir, capsys):
    (workdir / "empty").mkdir()
    line = _run_one_line(workdir, capsys, _spec(folder=str(workdir / "empty")))
    assert line == (f"error: images/fashion_mnist: folder: {str(workdir / 'empty')!r} holds no train-images-idx3-ubyte "
                    "(nor train-images-idx3-ubyte.gz); expected the four IDX files train-images-idx3-ubyte, "
                    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte")


def test_cnn_on_tabular_data_is_refused_when_planned(workdir, capsys):
    spec = {**_spec(), "datasets": [{"name": "synthetic/gaussian", "params": {"n_samples": 600}}]}
    line = _run_one_line(workdir, capsys, spec)
    assert "model 'cnn': trains images only" in line


@needs_fashion
def test_fashion_mnist_from_the_debian_package_matches_its_declared_info():
    ds = datasets.load("images/fashion_mnist")
    info = datasets.catalogue.info("images/fashion_mnist")
    assert ds.X.shape == (info.rows, info.numeric) and ds.image_shape == (1, 28, 28)
    assert tuple(np.bincount(ds.y)) == info.class_counts
    assert ds.X.min() == 0 and ds.X.max() == 255


def test_catalogue_lists_the_image_sets_with_their_sizes():
    lines = datasets.catalogue.render(datasets.catalogue.entries(datasets.catalogue.Filters(collection="images")))
    assert lines[1].split()[:3] == ["images/digits", "1797", "64+0"]
    assert lines[2].split()[:3] == ["images/fashion_mnist", "70000", "784+0"]


def test_images_are_standardised_per_channel_not_per_pixel():
    p = datasets.prepare(datasets.load("images/digits"), 1, seed=0)
    assert p.image_shape == (1, 8, 8)
    assert abs(p.train.X.mean()) < 1e-9 and abs(p.train.X.std() - 1) < 1e-9
    # a per-pixel scale would make every pixel's training std 1 (the always-blank corner: 0)
    assert p.train.X[:, 0].std() == 0 and np.ptp(p.train.X.std(axis=0)) > 0.5


def test_balanced_test_split_keeps_train_and_validation():
    ds = datasets.load("images/digits")
    plain = datasets.prepare(ds, 3, seed=4, min_test_minority=5)
    balanced = datasets.prepare(ds, 3, seed=4, min_test_minority=5, test_profile="balanced")
    for split in ("train", "validation"):
        np.testing.assert_array_equal(getattr(plain, split).X, getattr(balanced, split).X)
    counts = balanced.test.counts(10)
    assert len(set(counts)) == 1 and counts[0] == max(plain.test.counts(10))
    assert min(plain.test.counts(10)) < counts[0]
    # every test row of the long-tailed split stays in the balanced one, the rest are new rows
    balanced_rows = {r.tobytes() for r in balanced.test.X}
    kept = sum(r.tobytes() in balanced_rows for r in plain.test.X)
    assert kept == sum(min(c, counts[0]) for c in plain.test.counts(10))


def test_balanced_test_split_is_refused_with_cross_validation():
    with pytest.raises(datasets.DataError, match="test_profile: 'balanced' .* expected protocol holdout, got cv"):
        datasets.prepare(datasets.load("images/digits"), 5, seed=0, fold=(0, 3), test_profile="balanced")
