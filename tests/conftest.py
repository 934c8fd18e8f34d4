"""Shared fixtures: a tiny spec that runs end to end in seconds, and a way to call the runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TINY_SPEC = {
    "name": "tiny",
    "seed": 3,
    "datasets": [{"name": "synthetic/gaussian", "label": "gauss", "params": {"n_samples": 2400, "n_features": 4}}],
    "imbalance_ratios": [1, 10],
    "methods": ["ce", "focal"],
    "model": {"name": "mlp", "hidden_sizes": [8]},
    "training": {"max_epochs": 6, "batch_size": 128, "patience": 3},
    "tuning": {"n_trials": 3},
    "evaluation": {"repetitions": 2},
}


@pytest.fixture
def tiny_spec() -> dict:
    """A fresh copy of the tiny spec (2 ratios × 2 methods, 3 trials, 2 repetitions)."""
    return yaml.safe_load(yaml.safe_dump(TINY_SPEC))


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty working directory, with MLFLOW_TRACKING_URI unset."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def write_spec(directory: Path, spec: dict, name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_runner(*args: str, cwd: Path | None = None, env: dict | None = None):
    """Run ``python runner.py ARGS`` in a subprocess, as a user would."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    full_env.pop("MLFLOW_TRACKING_URI", None) if env is None or "MLFLOW_TRACKING_URI" not in env else None
    return subprocess.run(
        [sys.executable, str(ROOT / "runner.py"), *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600,
    )
