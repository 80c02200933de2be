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

# The whole loop on emulated services: a generated library, the example rules, the queue, deletions
# at once (--grace 0) with the emulated Discord's messages printed, then the API until Ctrl-C.
demo: $(BIN)/.installed
	$(BIN)/prunerr demo --grace 0

test: $(BIN)/.installed lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(BIN)/.installed
	$(BIN)/python bench/dsl.py

clean:
	rm -rf $(VENV) build *.egg-info
