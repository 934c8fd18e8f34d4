"""Over-fitting, read from the per-epoch NLL curves a run keeps (``curves/<cell>.json``, written
for learners that track them: :func:`harness.running.outputs.write_curves`).

A fit *over-fitted* when its kept weights fit the training rows almost perfectly — final training
NLL at most :data:`NEAR_ZERO` nats — while the NLL on held-out rows rose after its minimum: the
last epoch's validation NLL at least :data:`RISE` above the lowest (Mukhoti et al. 2020, Fig. 1:
training NLL towards 0, test NLL rising, the regime in which cross-entropy becomes over-confident).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

NEAR_ZERO = 0.05  # nats: the final training NLL of a fit that (almost) interpolates its training rows
RISE = 0.10  # the last validation NLL at least 10 % above its minimum: held-out NLL rising
COLUMNS = ["dataset", "imbalance_ratio", "model", "method", "repetition", "epochs", "train_nll_final",
           "val_nll_min", "val_nll_min_epoch", "val_nll_last", "test_nll_final", "overfit"]


def curves_frame(results_dir: Path) -> pd.DataFrame:
    """One row per evaluated fit with curves: :data:`COLUMNS`; empty when the run kept none."""
    rows = []
    for path in sorted((Path(results_dir) / "curves").glob("*.json")):
        cell = json.loads(path.read_text())
        for rep in cell["repetitions"]:
            val = np.asarray(rep.get("val_nll") or [np.nan], dtype=float)
            row = {k: cell[k] for k in ("dataset", "imbalance_ratio", "model", "method")}
            row.update(repetition=rep["repetition"], epochs=rep["epochs"], train_nll_final=rep.get("train_nll_final"),
                       val_nll_min=float(np.nanmin(val)), val_nll_min_epoch=int(np.nanargmin(val)),
                       val_nll_last=float(val[-1]), test_nll_final=rep.get("test_nll_final"))
            rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if len(frame):
        frame["imbalance_ratio"] = frame["imbalance_ratio"].astype(str)
        frame["overfit"] = ((frame["train_nll_final"].astype(float) <= NEAR_ZERO)
                            & (frame["val_nll_last"] >= (1 + RISE) * frame["val_nll_min"]))
    return frame


def overfit_words(fits: pd.DataFrame) -> str:
    """One sentence on ``fits`` (rows of :func:`curves_frame`): how many over-fitted, with the
    median final training NLL and the median validation NLL at its minimum and at the end."""
    if fits.empty:
        return "no fit kept its NLL curves"
    med = fits[["train_nll_final", "val_nll_min", "val_nll_last"]].astype(float).median()
    return (f"{int(fits['overfit'].sum())} of {len(fits)} fits over-fitted (final training NLL ≤ {NEAR_ZERO:g} and "
            f"validation NLL ≥ {1 + RISE:g}× its minimum at the last epoch); median final training NLL "
            f"{med['train_nll_final']:.3f}, validation NLL {med['val_nll_min']:.3f} at its minimum (median epoch "
            f"{int(fits['val_nll_min_epoch'].median()) + 1} of {int(fits['epochs'].max())}) → {med['val_nll_last']:.3f} "
            "at the end")
