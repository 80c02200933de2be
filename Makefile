# The two commands in the README: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Until `prunerr demo` lands (issue #6) the demo runs the rules toolchain on the example rules.
demo: $(BIN)/.installed
	$(BIN)/prunerr rules check rules.d
	$(BIN)/prunerr rules test rules.d
	$(BIN)/prunerr rules explain movies/stale-4k --item examples/items/4k-movie.yaml --now 2026-06-01

test: $(BIN)/.installed lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(BIN)/.installed
	$(BIN)/python bench/dsl.py

clean:
	rm -rf $(VENV) build *.egg-info
