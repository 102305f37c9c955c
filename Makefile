# `make train` and `make test` set up .venv on first use (CPU PyTorch by default; set
# TORCH=torch for your platform's default build), then run.
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install train test test-all clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

train: install
	$(PY) train.py $(ARGS)

test: install
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

test-all: install
	$(PY) -m pytest -n auto -m "" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV)
