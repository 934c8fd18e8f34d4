"""The catalogue of shipped sets, its filters, collections in specs, and `run --data`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, write_spec

import datasets
import runner
from datasets import catalogue
from datasets.sources import keel, krnn
from harness import parse_spec

PACKAGE_DATA = keel.data_dir().parent
#: summary names of the package whose data another entry holds (see the comment in keel.py)
MERGED = {("binary", "wdbc"): "sklearn/breast_cancer"}


def _package_summary() -> dict[tuple[str, str], dict]:
    out = {}
    for task, file in (("binary", "summary_binary_classification.json"), ("multiclass", "summary_multiclass_classification.json")):
        for row in json.loads((PACKAGE_DATA / file).read_text()):
            out[(task, row["name"])] = row
    return out


def _our_summary_names() -> dict[tuple[str, str], str]:
    """(task, the package's summary name) -> catalogue name."""
    names = dict(MERGED)
    for rows, task in ((keel.BINARY, "binary"), (keel.MULTICLASS, "multiclass")):
        names.update({(task, row[1]): f"keel/{row[0]}" for row in rows})
    for rows, task in ((krnn.BINARY, "binary"), (krnn.MULTICLASS, "multiclass")):
        names.update({(task, row[2]): f"krnn/{row[0]}" for row in rows})
    return names


@pytest.mark.slow  # loads all 144 shipped sets (fars alone: 100968 rows); 20 s or more
def test_whole_catalogue_loads_and_matches_the_package_summary():
    summary, ours = _package_summary(), _our_summary_names()
    assert set(summary) == set(ours), set(summary) ^ set(ours)  # every shipped set has one entry
    seen = {}
    for key, name in ours.items():
        ds = datasets.load(name)
        counts = tuple(int(c) for c in np.bincount(ds.y))
        assert len(ds.y) == summary[key]["n"], (name, key)
        assert len(counts) == (2 if key[0] == "binary" else summary[key]["n_classes"]), (name, counts)
        info = datasets.catalogue.info(name)
        assert (info.rows, (info.numeric, info.categorical), info.class_counts) == (len(ds.y), ds.feature_kinds, counts), name
        fp = catalogue.content_fingerprint(ds.X, ds.y)
        assert fp not in seen, f"{name} duplicates {seen.get(fp)}"
        seen[fp] = name


def test_kept_names_load_the_same_arrays():
    """The 16 KEEL names of the first catalogue: unchanged data (the smoke benchmark uses yeast3)."""
    ds = datasets.load("keel/yeast3", {}, seed=0)
    assert datasets.fingerprint(ds.X, ds.y) == "835bf62d3b00873c"
    for name in ("pima", "glass1", "wisconsin", "haberman", "vehicle0", "ecoli1", "segment0", "page-blocks0", "glass4",
                 "ecoli4", "yeast4", "winequality-red-4", "yeast6", "poker-8_vs_6", "abalone19"):
        assert f"keel/{name}" in datasets.available()


def test_wdbc_is_breast_cancer_rounded():
    X, labels, _, _ = keel.read_dat(PACKAGE_DATA / "classification" / "wdbc" / "wdbc.dat", "wdbc")
    y = keel.binary_labels(labels, None)
    ref = datasets.load("sklearn/breast_cancer")
    order = lambda A: A[np.lexsort(np.round(A, 1).T[::-1])]  # noqa: E731
    assert X.shape == ref.X.shape and y.sum() == ref.y.sum()
    np.testing.assert_allclose(order(np.column_stack([X, y])), order(np.column_stack([ref.X, ref.y])), rtol=5e-3, atol=6e-4)


def test_catalogue_counts_and_declared_info():
    found = catalogue.entries()
    assert len(found) == len(datasets.available()) - 1  # all but csv
    package = [e for e in found if e.collection.startswith(("keel", "krnn"))]
    assert sum(e.task == "binary" for e in package) == 118 and sum(e.task == "multiclass" for e in package) == 26
    ratios = [e.info.natural_ratio for e in package if e.task == "binary"]
    assert min(ratios) < 1.1 and max(ratios) > 125


@pytest.mark.parametrize("filters", [
    catalogue.Filters(collection="keel-binary", max_rows=300, min_natural_ratio=20),
    catalogue.Filters(task="multiclass", max_natural_ratio=2),
    catalogue.Filters(collection="krnn"),
])
def test_filters_keep_exactly_the_matching_entries(filters):
    kept = catalogue.entries(filters)
    assert kept and [e.name for e in kept] == sorted(e.name for e in kept)
    everything = catalogue.entries()
    assert {e.name for e in kept} == {e.name for e in everything if filters.keep(e)}
    for e in kept:
        assert filters.max_rows is None or e.info.rows <= filters.max_rows
        assert filters.task is None or e.task == filters.task
        assert filters.min_natural_ratio is None or e.info.natural_ratio >= filters.min_natural_ratio


def test_datasets_command_filters_and_counts(capsys):
    assert runner.main(["datasets", "--collection", "keel-binary", "--max-rows", "300", "--min-ratio", "20"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines() if line.startswith("keel/")]
    assert names == [e.name for e in catalogue.entries(catalogue.Filters("keel-binary", None, 300, 20))]
    assert f"{len(names)} datasets ({len(names)} binary, 0 multi-class)" in out
    assert runner.main(["datasets", "--task", "multiclass", "--max-rows", "200"]) == 0
    assert "multi-class)" in capsys.readouterr().out


def _spec(tiny_spec: dict, entries: list) -> dict:
    return {**tiny_spec, "datasets": entries, "imbalance_ratios": ["natural"]}


def test_collection_expands_in_name_order_and_hashes_as_its_expansion(tiny_spec):
    filters = {"collection": "keel-binary", "max_rows": 300, "min_natural_ratio": 20}
    spec = parse_spec(_spec(tiny_spec, ["keel/pima", filters]))
    names = [d.name for d in spec.datasets]
    assert names == ["keel/pima", *catalogue.select(catalogue.Filters("keel-binary", None, 300, 20))]
    explicit = parse_spec(_spec(tiny_spec, names))
    assert spec.spec_hash() == explicit.spec_hash()


def test_spec_hash_without_collections_unchanged():
    baseline = json.loads((ROOT / "results" / "baselines" / "smoke.json").read_text())
    from harness import load_spec

    assert load_spec(ROOT / "benchmarks" / "smoke.yaml").spec_hash() == baseline["spec_hash"]


def test_list_shows_the_expanded_cells(workdir, tiny_spec, capsys):
    spec = {**_spec(tiny_spec, [{"collection": "krnn-binary", "max_rows": 600}]), "min_test_minority": 5}
    assert runner.main(["list", str(write_spec(workdir, spec))]) == 0
    out = capsys.readouterr().out
    for name in ("krnn/cm1", "krnn/hepatitis", "krnn/spectf"):
        assert f"{name} " in out
    assert "3 datasets × 1 ratios × 1 models × 2 methods" in out


# --- bad input: one line, exit 2, nothing written ----------------------------------------

def _fails_cleanly(workdir, capsys, argv: list[str], message: str) -> None:
    before = sorted(p.name for p in workdir.iterdir())
    code = runner.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert message in err, err
    assert sorted(p.name for p in workdir.iterdir()) == before


@pytest.mark.parametrize("text,shown", [(".inf", "inf"), (".nan", "nan"), ("-.inf", "-inf")])
def test_non_finite_ratio_is_a_spec_error(workdir, tiny_spec, capsys, text, shown):
    path = write_spec(workdir, tiny_spec)
    path.write_text(path.read_text().replace("- 10\n", f"- {text}\n"))
    assert yaml.safe_load(path.read_text())["imbalance_ratios"][1] != 10
    _fails_cleanly(workdir, capsys, ["run", str(path)], f"imbalance_ratios: expected finite numbers >= 1 or 'natural', got {shown}")


def test_header_only_csv_says_no_rows(workdir, tiny_spec, capsys):
    (workdir / "empty.csv").write_text("a,b,label\n")
    entry = {"name": "csv", "params": {"path": "empty.csv", "target": "label", "positive": "yes"}}
    path = write_spec(workdir, _spec(tiny_spec, [entry]))
    _fails_cleanly(workdir, capsys, ["run", str(path)], "'empty.csv' has no rows")
    _fails_cleanly(workdir, capsys, ["run", "--data", "empty.csv", "--target", "label"], "empty.csv' has no rows")


@pytest.mark.parametrize("entry,message", [
    ({"collection": "keel-binary", "max_rows": 50}, "datasets[0]: no dataset matches collection=keel-binary, max_rows=50"),
    ({"collection": "krnn", "task": "multiclass", "min_natural_ratio": 5000},
     "no dataset matches collection=krnn, task=multiclass, min_natural_ratio=5000"),
    ({"collection": "keel-binary", "max_row": 50}, "datasets[0].max_row: unknown key; known keys here: collection, task"),
    ({"collection": "kel"}, "collection: unknown name 'kel'"),
])
def test_bad_collection_entries(workdir, tiny_spec, capsys, entry, message):
    path = write_spec(workdir, _spec(tiny_spec, [entry]))
    _fails_cleanly(workdir, capsys, ["list", str(path)], message)


# --- your own data in one command ---------------------------------------------------------

def _write_csv(path: Path, n: int = 700, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.15
    frame = pd.DataFrame(rng.normal(size=(n, 3)) + 1.5 * y[:, None], columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "blue"], n)
    frame["label"] = np.where(y, "yes", "no")
    frame.to_csv(path, index=False)


def test_bad_target_names_the_column_and_the_columns(workdir, capsys):
    _write_csv(workdir / "my.csv")
    _fails_cleanly(workdir, capsys, ["run", "--data", "my.csv", "--target", "lable"],
                   "--target: column 'lable' is not in my.csv; its columns: a, b, c, colour, label")


def test_data_in_one_command_end_to_end(workdir, capsys):
    _write_csv(workdir / "my.csv")
    code = runner.main(["run", "--data", "my.csv", "--target", "label", "--positive", "yes", "--no-tracking",
                        "--storage", "memory", "--quiet", "--n-trials", "1", "--repetitions", "1",
                        "--max-epochs", "2", "--methods", "ce,focal"])
    assert code == 0, capsys.readouterr().err
    folder = workdir / "results" / "data-my"
    table = pd.read_csv(folder / "results.csv", dtype={"imbalance_ratio": str})
    assert set(table["method"]) == {"ce", "focal"}
    assert set(table["imbalance_ratio"]) == {"natural"}  # own data: cross-validated at its own ratio
    # K-fold (K ≤ 10: as many folds as keep 10 of the ~100 positives in each) once (--repetitions 1)
    assert table["fold"].nunique() >= 5 and set(table["repeat"]) == {0}
    assert (folder / "report.md").is_file() and (folder / "report.html").is_file()


def test_built_in_methods_are_those_of_the_default_benchmark():
    from harness.spec.from_data import METHODS

    listed = yaml.safe_load((ROOT / "benchmarks" / "default.yaml").read_text())["methods"]
    assert METHODS == [m if isinstance(m, str) else m["name"] for m in listed]


@pytest.mark.parametrize("natural,largest,expected", [
    (8.1, 48.0, ["natural", 1.0, 19.0]),   # room above natural: the geometric mean of natural and largest
    (7.3, 10.0, ["natural", 1.0, 2.7]),    # no room above: two ratios below natural
    (1.0, 50.0, ["natural", 7.0, 50.0]),   # balanced file: imbalance it
])
def test_controlled_ratios(natural, largest, expected):
    from harness.spec.from_data import choose_ratios

    got = choose_ratios(natural, largest)
    assert got[0] == "natural" and got[1:] == pytest.approx(expected[1:])
