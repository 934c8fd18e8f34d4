"""The resolved spec of a run, kept beside its table (``spec.json``), so that what reads the
results folder alone (the report) knows how the run trained: its regime, its trial budgets.

Reading never imports the spec module (which imports torch): the copy is plain JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.files import write_atomic

if TYPE_CHECKING:
    from harness.spec.schema import Spec

FILE = "spec.json"


def write_run_spec(spec: Spec, out_dir: Path) -> Path:
    """``<out_dir>/spec.json``: the validated spec, defaults filled in, and its hash."""
    data = {"spec_hash": spec.spec_hash(), **spec.model_dump(mode="json")}
    text = json.dumps(data, indent=1, sort_keys=True)
    return write_atomic(out_dir / FILE, lambda tmp: tmp.write_text(text))


def read_run_spec(results_dir: Path) -> dict[str, Any] | None:
    """The run's spec as written by :func:`write_run_spec`; None for a folder without one
    (results written before runs kept their spec)."""
    path = results_dir / FILE
    return json.loads(path.read_text()) if path.is_file() else None


def early_stopping(run_spec: dict[str, Any] | None) -> str | None:
    """``training.early_stopping`` of the run (``loss``, ``metric`` or ``none``); None when unknown."""
    return None if run_spec is None else run_spec.get("training", {}).get("early_stopping", "loss")


def method_trials(run_spec: dict[str, Any] | None) -> dict[str, int]:
    """Trials per method key where the run says so: each entry's ``n_trials``, else
    ``tuning.n_trials`` (before ``trials_per_parameter``, which may raise it); empty when unknown."""
    if run_spec is None:
        return {}
    default = run_spec.get("tuning", {}).get("n_trials")
    out = {}
    for entry in run_spec.get("methods", []):
        if isinstance(entry, str):
            out[entry] = default
        else:
            out[entry.get("label") or entry["name"]] = entry.get("n_trials") or default
    return out
