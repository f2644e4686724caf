# The two quick-start commands of README.md: `make run` and `make test`.
# Both create .venv on first use and reinstall only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest markers of the slow tier (pyproject.toml); the fast tier is everything else.
FAST := not slow and not browser

.PHONY: setup run test test-slow lint gpu-check

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned in pyproject.toml (the CPU build on a CPU-only machine).
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/bncvl pipeline

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The fast tier (unit and component tests; a few minutes): README's test command.
test: lint
	$(BIN)/pytest -m "$(FAST)"

# The slow tier: real asv runs, valgrind, the check end to end, the browser, training.
# .ci/run runs it after `make test`.
test-slow: setup
	$(BIN)/pytest -m "not ($(FAST))"

# A GPU host's self-check (bncvl gpu-check): GPU tests, NVML, the suite's GPU slice, a publish; one report in
# docs/measurements/. Exits 2 at once on a machine without a CUDA torch, a GPU or NVML.
gpu-check: setup
	$(BIN)/bncvl gpu-check
