"""report.html in a real headless Chromium: the decision table and every figure render, and
nothing is wider than the window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import browser
from test_decision import _planted, _table

import runner
from harness.store.results import slugify

pytestmark = pytest.mark.browser


def _predictions(folder, table: pd.DataFrame) -> None:
    """Stored test predictions for CE and focal in every cell, focal's raw ones tilted to 0.5."""
    rng = np.random.default_rng(0)
    for (dataset, ratio, method), _ in table.groupby(["dataset", "imbalance_ratio", "method"]):
        if method not in ("ce", "focal"):
            continue
        p = rng.uniform(0.01, 0.99, 400)
        y = (rng.uniform(size=400) < p).astype(int)
        raw = 0.5 + 0.6 * (p - 0.5) if method == "focal" else p
        frame = pd.DataFrame({"repetition": np.repeat([0, 1], 200), "y_true": y, "prob_raw": raw,
                              "prob_temperature": p, "prob_closed_form": p})
        (folder / "predictions").mkdir(exist_ok=True)
        frame.to_parquet(folder / "predictions" / f"{slugify(dataset)}__rho{ratio}__{method}.parquet")


def test_report_html_renders_in_chromium(tmp_path):
    folder = tmp_path / "hand"
    folder.mkdir()
    table = _table(_planted, seed=0, noise=0.001, n_datasets=6, ratios=("2", "100"))
    table.to_csv(folder / "results.csv", index=False)
    _predictions(folder, table[table["dataset"].isin(["d0", "d1"])])
    assert runner.main(["report", str(folder), "--no-tracking"]) == 0
    assert any(p.name.startswith("smooth_reliability") for p in (folder / "report").glob("*.png"))
    driver = browser(tmp_path / "profile")
    try:
        driver.get((folder / "report.html").as_uri())
        headers = driver.execute_script(
            "return [...document.querySelectorAll('table')[0].querySelectorAll('th')].map(t => t.textContent)")
        assert headers == ["regime", "datasets", "ranking", "decisions", "probabilities"]
        assert "focal" in driver.execute_script("return document.querySelectorAll('table')[0].innerText")
        images = driver.execute_script(
            "return [...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0])")
        assert len(images) == len(list((folder / "report").glob("*.png"))) >= 8
        assert all(ok for _, ok in images), [alt for alt, ok in images if not ok]
        width, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner, f"page is {width} px wide in a {inner} px window"
    finally:
        driver.quit()
