# The two commands a person needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export FLASK_APP := webapp

.PHONY: run test lint migrate bench mutate clean

UV := $(BIN)/uv

# uv installs the dependencies in seconds where pip takes a minute; it comes from PyPI into the
# venv itself, and plain pip remains the fallback whenever uv cannot be had or fails.
# The venv starts without pip (ensurepip alone takes seconds); uv brings pip in with the rest, and
# the fallback puts it there itself.
define install
	@echo "Installing $(1) (uv; plain pip if uv fails)"
	@if [ -x $(UV) ] && $(UV) pip install --quiet --python $(BIN)/python pip $(1); then :; \
	else [ -x $(BIN)/pip ] || $(BIN)/python -m ensurepip --default-pip >/dev/null; $(BIN)/pip install --quiet $(1); fi
endef

$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)
	@$(PYTHON) -m pip --python $(BIN)/python install --quiet uv 2>/dev/null || \
	  { $(BIN)/python -m ensurepip --default-pip >/dev/null && $(BIN)/pip install --quiet uv; } || \
	  echo "uv is not available here; installing with pip"

$(STAMP): pyproject.toml | $(BIN)/python
	$(call install,-e .)
	touch $@

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(call install,-e '.[dev]')
	touch $@

run: $(STAMP)
	$(BIN)/flask seed-demo --upgrade
	$(BIN)/python -m webapp.devserver

test: $(DEV_STAMP)
	$(BIN)/ruff check webapp jobs tests bench docs
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check webapp jobs tests bench docs
	$(BIN)/lint-imports

# After changing models: `make migrate m="what changed"`, then read the generated file.
migrate: $(STAMP)
	$(BIN)/flask db migrate -m "$(m)"

bench: $(DEV_STAMP)
	$(BIN)/python bench/run_all.py

# Mutation testing of the decision modules and the claim ([tool.mutmut] in pyproject.toml); prints
# the mutants no test caught. Takes several minutes; not part of `make test`.
# Every mutant of the pure decision modules; of the delivery code, those of the claim.
MUTANTS := "webapp.notifications.rules.*" "webapp.notifications.planner.*" "webapp.consent.policy.*" \
	"webapp.orders.ordering.*" "webapp.dispatch.delivery.x_claim__*" "webapp.consent.marketing_limits.*" \
	"webapp.notifications.routing.*"
mutate: $(DEV_STAMP)
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 $(MUTANTS) || true
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) instance .pytest_cache mutants
