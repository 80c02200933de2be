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

# Until `prunerr demo` lands (issue #6): check and test the example rules, then sync a generated
# library from the emulators into a fresh SQLite database and show what the rules would queue.
demo: $(BIN)/.installed
	$(BIN)/prunerr rules check rules.d
	$(BIN)/prunerr rules test rules.d
	@set -e; dir=$$(mktemp -d); \
	$(BIN)/prunerr emulate --size S --env-file $$dir/emulators.env > $$dir/emulate.log & \
	pid=$$!; trap "kill $$pid 2>/dev/null" EXIT; \
	until [ -s $$dir/emulators.env ]; do sleep 0.2; done; \
	set -a; . $$dir/emulators.env; set +a; export PRUNERR_DATA_DIR=$$dir; \
	echo "emulated services: $$(cut -d= -f1 $$dir/emulators.env | tr '\n' ' ')"; \
	$(BIN)/prunerr sync; \
	$(BIN)/prunerr rules plan --explain 1

test: $(BIN)/.installed lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(BIN)/.installed
	$(BIN)/python bench/dsl.py

clean:
	rm -rf $(VENV) build *.egg-info
