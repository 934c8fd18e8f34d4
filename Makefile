# Imbalanced-loss benchmark suite. Two commands on a fresh machine: `make setup`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
# The CPU wheel of torch; a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH_PIN := torch==2.13.0
# Where that pin comes from; empty = pip's configured index. GitHub Actions sets the PyTorch CPU
# wheel index (https://download.pytorch.org/whl/cpu), where a plain pin would pull the CUDA build.
TORCH_INDEX ?=
UI_PORT ?= 5000
# cells in parallel for `make bench` (worker processes; the table is the same for any value)
JOBS ?= 2

.PHONY: setup test test-shuffled test-slow bench bench-full bench-ci baseline report perf docs ui clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"$(if $(TORCH_INDEX), --index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e ".[test]"
	@$(PY) -c "import torch, harness, loss_zoo; print('setup ok: torch', torch.__version__)"

test:
	$(BIN)/lint-imports
	$(PY) -m pytest -q -m "not slow"

# The same tests in a random order (pytest-randomly; the seed is printed: -p randomly -p "randomly_seed=N" repeats it)
test-shuffled:
	$(PY) -m pytest -q -m "not slow" -p randomly

# the long end-to-end tests on both cores (pytest-xdist): each runs one process at a time, so two
# workers halve the wall time CI waits for (each worker starts its own PostgreSQL on a free port)
test-slow:
	$(PY) -m pytest -q -m slow -n 2

bench:
	$(PY) runner.py run benchmarks/default.yaml --jobs $(JOBS)

# The whole shipped collection (8226 cells; measured on 2 cores as two runs: 4369 cells in 1 h 52 min, then
# the literature's losses, 3857 cells, in 1 h 21 min with --against); rewrites the committed answer in results/published/full.
bench-full:
	$(PY) runner.py run benchmarks/full.yaml --jobs $(JOBS) --publish results/published/full

bench-ci:
	$(PY) runner.py run benchmarks/smoke.yaml --fresh --baseline results/baselines/smoke.json

# Regenerate the CI baseline: an explicit step whose diff is reviewed before committing.
baseline:
	$(PY) runner.py run benchmarks/smoke.yaml --fresh
	$(PY) runner.py baseline results/smoke --out results/baselines/smoke.json

report:
	$(PY) runner.py report results/default

perf:
	$(PY) -m benchmarks.perf

# docs/spec-reference.md from the spec schema (tests/test_docs.py fails while it is stale).
docs:
	$(PY) -m harness.spec.reference --write

ui:
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port $(UI_PORT)

clean:
	find results -mindepth 1 -maxdepth 1 -type d ! -name baselines ! -name published -exec rm -rf {} +
	rm -rf mlruns mlartifacts .pytest_cache
	@echo "kept mlflow.db, results/baselines/ and results/published/"
