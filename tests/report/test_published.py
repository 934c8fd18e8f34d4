"""The published answer: its provenance names the spec hash its spec has today, and the
publishing step writes a correct compact summary and only the figures the report links."""

from __future__ import annotations

import json
from importlib import metadata

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, TINY_SPEC, write_spec

from harness import load_spec
from harness.plan.checks import parse_spec
from harness.report import publish
from harness.store.results import read_table

PUBLISHED = ROOT / "results" / "published" / "full"


def test_published_full_run_matches_its_spec():
    """The full answer in particular (its spec, cells and links: the test below, as for every answer)."""
    prov = json.loads((PUBLISHED / "provenance.json").read_text())
    assert prov["spec"] == "benchmarks/full.yaml" and prov["cells"] >= 2000
    size = sum(f.stat().st_size for f in PUBLISHED.rglob("*") if f.is_file())
    assert size < 25 * 2**20  # the per-fold table included (issue 26: at most 25 MB)
    assert (PUBLISHED / "CHANGELOG.md").is_file()


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in PUBLISHED.parent.glob("*/provenance.json")))
def test_every_published_answer_matches_its_spec_and_links_only_files_it_has(folder):
    """Each committed answer (full, the focal grid, images, dense, ...): its spec file still hashes
    to what it was published from, its summary and per-fold table count the cells provenance
    says, and every figure its report links is there."""
    published = PUBLISHED.parent / folder
    prov = json.loads((published / "provenance.json").read_text())
    assert prov["spec_hash"] == load_spec(ROOT / prov["spec"]).spec_hash(), f"re-publish {folder}: the spec changed"
    assert prov["spec_hash"] in (published / "report.md").read_text().splitlines()[0]
    cell = ["dataset", "imbalance_ratio", "model", "method"]
    table = pd.read_parquet(published / "results.parquet", columns=cell)  # every fit: the cells it holds
    assert len(table.drop_duplicates(cell)) == prov["cells"] == len(pd.read_csv(published / "summary.csv"))
    text = (published / "report.md").read_text()
    for link in pd.Series(text.split("](report/")[1:]).str.split(")").str[0]:
        assert (published / "report" / link).is_file()


def _table(rng) -> pd.DataFrame:
    rows = []
    for ds, n_classes in (("a", 2), ("b", 3)):
        for method in ("ce", "focal"):
            for rep in range(3):
                for metric in (("average_precision", "ece") if n_classes == 2 else ("average_precision_macro",)):
                    for calibration in ("raw", "temperature"):
                        rows.append({"dataset": ds, "imbalance_ratio": "natural", "model": "mlp", "method": method,
                                     "n_classes": n_classes, "repetition": rep, "metric": metric,
                                     "calibration": calibration, "value": rng.random(),
                                     "git_commit": "abc", "versions": "python=3.11"})
    return pd.DataFrame(rows)


def test_publish_writes_summary_figures_and_provenance(tmp_path):
    table = _table(np.random.default_rng(0))
    results = tmp_path / "results" / "tiny"
    (results / "report").mkdir(parents=True)
    table.to_csv(results / "results.csv", index=False)
    (results / "report" / "linked.png").write_bytes(b"png")
    (results / "report" / "unlinked.png").write_bytes(b"png")
    report = results / "report.md"
    report.write_text("# Report: tiny\n\n![x](report/linked.png)\n")
    spec = parse_spec(TINY_SPEC)
    prov = publish.provenance(spec, "s.yaml", table, command="python runner.py run s.yaml", wall_seconds=3600.0,
                              cpu_seconds=7000.0)
    out = tmp_path / "published"
    publish.publish(results, out, report, prov)
    assert sorted(p.name for p in (out / "report").iterdir()) == ["linked.png"]
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 and set(summary["fits"]) == {3}
    raw = table[(table["calibration"] == "raw") & (table["dataset"] == "a") & (table["method"] == "focal")]
    expected = raw[raw["metric"] == "ece"]["value"]
    row = summary[(summary["dataset"] == "a") & (summary["method"] == "focal")].iloc[0]
    assert row["ece_mean"] == pytest.approx(expected.mean(), rel=1e-4)
    assert row["ece_std"] == pytest.approx(expected.std(ddof=1), rel=1e-4)
    assert np.isnan(row["average_precision_macro_mean"])
    written = json.loads((out / "provenance.json").read_text())
    assert written["spec_hash"] == spec.spec_hash() and written["cells"] == 4 and written["commit"] == ["abc"]
    assert (out / "report.md").read_text().startswith("> Published from `python runner.py run s.yaml`")
    assert written["math_backend"] == {} and "torch" not in (out / "report.md").read_text().splitlines()[0]
    # every fit, as the store reads it back (a folder holding only the parquet reads as a results folder)
    back = read_table(out)
    expected = read_table(results)
    pd.testing.assert_frame_equal(back, expected, check_exact=True)


def test_a_republish_keeps_the_hand_written_changelog(tmp_path):
    table = _table(np.random.default_rng(1))
    results = tmp_path / "results"
    results.mkdir()
    table.to_csv(results / "results.csv", index=False)
    (results / "report.md").write_text("# Report\n")
    prov = publish.provenance(parse_spec(TINY_SPEC), "s.yaml", table, command="c", wall_seconds=1.0, cpu_seconds=1.0)
    out = tmp_path / "published"
    out.mkdir()
    (out / "CHANGELOG.md").write_text("# 2026-12-02\n- cross-validated cells\n")
    (out / "stale.csv").write_text("old")
    publish.publish(results, out, results / "report.md", prov)
    assert (out / "CHANGELOG.md").read_text() == "# 2026-12-02\n- cross-validated cells\n"
    assert not (out / "stale.csv").exists() and (out / "results.parquet").is_file()


BACKEND = {"torch": "2.13.0+cpu", "blas": "mkl", "lapack": "mkl", "mkl": True, "mkldnn": True,
           "cpu_capability": "AVX512", "threads": 1, "interop_threads": 2}


def test_published_provenance_names_the_cpu_model_and_torchs_math_backend(tmp_path):
    table = _table(np.random.default_rng(0))
    prov = publish.provenance(parse_spec(TINY_SPEC), "s.yaml", table, command="c", wall_seconds=1.0, cpu_seconds=1.0,
                              math_backend=BACKEND)
    assert prov["math_backend"] == BACKEND and prov["machine"]["cpu_model"]
    line = publish._provenance_lines(prov)
    machine = prov["machine"]
    assert f"on {machine['cpus']} logical CPUs" in line and f"({machine['cpu_model']}, " in line
    assert ", torch 2.13.0+cpu (BLAS mkl, LAPACK mkl, oneDNN, AVX512, 1 thread): 4 cells" in line
    fewer = {**prov, "machine": {**machine, "cpus": 64, "cpus_usable": 2},
             "math_backend": {**BACKEND, "mkldnn": False, "blas": "unknown", "threads": 2}}
    line = publish._provenance_lines(fewer)
    assert "on 64 logical CPUs, 2 usable (" in line and "(BLAS unknown, LAPACK mkl, AVX512, 2 threads)" in line


def test_run_publish_records_the_threads_the_run_used(workdir):
    """Through the command line: torch's backend as the run left it (``--threads``, default 1)."""
    import runner

    spec = {"name": "pub", "seed": 3, "datasets": [{"name": "synthetic/gaussian", "params": {"n_samples": 1200}}],
            "imbalance_ratios": [5], "methods": ["ce"], "model": {"name": "logistic"},
            "training": {"max_epochs": 2}, "tuning": {"n_trials": 1}, "evaluation": {"repetitions": 2, "plots": False}}
    path = write_spec(workdir, spec)
    assert runner.main(["run", str(path), "--no-tracking", "--storage", "memory", "--quiet", "--publish", "out"]) == 0
    prov = json.loads((workdir / "out" / "provenance.json").read_text())
    backend = prov["math_backend"]
    assert backend["threads"] == 1 and backend["torch"].split("+")[0] == metadata.version("torch").split("+")[0]
    assert "logical CPUs" in (workdir / "out" / "report.md").read_text().splitlines()[0]
