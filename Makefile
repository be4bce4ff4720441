# The two commands a person needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export FLASK_APP := webapp

.PHONY: run test lint migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(STAMP)
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/python -m webapp.devserver

test: $(DEV_STAMP)
	$(BIN)/ruff check webapp jobs tests bench docs
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check webapp jobs tests bench docs

# After changing models: `make migrate m="what changed"`, then read the generated file.
migrate: $(STAMP)
	$(BIN)/flask db migrate -m "$(m)"

bench: $(DEV_STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache
