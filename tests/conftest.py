"""Shared fixtures: a tiny spec that runs end to end in seconds, and a way to call the runner."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
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


# --- services on 127.0.0.1 for the dashboard and cluster tests --------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """A real `mlflow server` with its own temporary store; yields its URI."""
    port = _free_port()
    store = tmp_path / "server"
    store.mkdir()
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen(
        [str(mlflow_cli), "server", "--backend-store-uri", f"sqlite:///{store}/mlflow.db",
         "--artifacts-destination", str(store / "artifacts"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=open(store / "server.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            pytest.fail(f"mlflow server exited: {(store / 'server.log').read_text()[-2000:]}")
    else:
        proc.kill()
        pytest.fail("mlflow server did not answer /health within 120 s")
    yield uri
    os.killpg(proc.pid, 15)
    proc.wait(timeout=30)



def _postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):  # Debian's layout
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 (Debian's `postgresql`, which `.ci/run`
    installs); yields a SQLAlchemy URL of an empty database. Skipped where the server is not
    installed, except under CI, where that is a failure."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        reason = "PostgreSQL server not installed (Debian: apt-get install postgresql; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    if os.geteuid() == 0:  # the server refuses to run as root: Debian's `postgres` user runs it
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data, log = base / "data", base / "server.log"

    def pg(tool: str, *args: str) -> None:
        proc = subprocess.run([*as_user, str(bin_dir / tool), *args], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            tail = log.read_text()[-1500:] if log.exists() else ""
            pytest.fail(f"{tool} failed: {proc.stderr[-1500:]}{tail}")

    pg("initdb", "-D", str(data), "-U", "bench", "--auth=trust", "--no-sync")
    pg("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
       f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c max_connections=200", "start")
    try:
        pg("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "bench", "bench")
        yield f"postgresql+psycopg2://bench@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def browser(profile: Path):
    """Headless Debian chromium through chromium-driver (skipped where missing, failed in CI)."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver must be installed in CI (.ci/run installs them)")
        pytest.skip("Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1600,1000", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.binary_location = chromium
    return webdriver.Chrome(service=Service(driver), options=options)
