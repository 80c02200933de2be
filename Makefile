# The two commands in the README: `make demo` and `make test`; each builds what it needs first.
#
# Prunerr supports Python 3.11, 3.12 and 3.13 (PYTHONS, newest first). The newest one found has
# .venv: `make demo` installs the runtime dependencies into it, `make test` adds the test tools,
# lints and runs the whole suite there. Each older one found has build/venv-X.Y, where `make test`
# runs the DSL, API and rules tests, the code that depends most on the interpreter, and the demo
# as `make demo` runs it (COMPAT_TESTS).
# A version that is not found is skipped with a warning, except under CI, which has all three.
PYTHONS ?= 3.13 3.12 3.11
COMPAT_TESTS := tests/dsl tests/api tests/rules tests/cli/test_demo.py
# pytest-xdist processes: more than the 2 cores CI has, since many tests wait on subprocesses,
# sockets and the databases rather than compute (the whole suite: 6.8 min with 4, 7.5 with 2)
TEST_WORKERS ?= 4
PYTEST := -m pytest -n $(TEST_WORKERS) --dist worksteal
PYENV_ROOT ?= $(HOME)/.pyenv

# The interpreter of Python $(1): pythonX.Y if it runs (a pyenv shim runs only the versions that
# pyenv has selected), else pyenv's build of X.Y; empty when there is none.
candidates = python$(1) $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1))
runs = $(shell $(1) -c '' 2>/dev/null && echo ok)
find_python = $(firstword $(foreach p,$(candidates),$(if $(call runs,$(p)),$(p))))
$(foreach v,$(PYTHONS),$(eval PYTHON_$(v) := $(call find_python,$(v))))
FOUND := $(foreach v,$(PYTHONS),$(if $(PYTHON_$(v)),$(v)))
MISSING := $(filter-out $(FOUND),$(PYTHONS))
NEWEST := $(firstword $(FOUND))
OLDER := $(wordlist 2,$(words $(FOUND)),$(FOUND))
UNDER_CI := $(filter-out false 0,$(CI))

NO_PYTHON := Prunerr needs Python 3.11 to 3.13: none of $(PYTHONS:%=python%) runs

VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test check pythons lint bench clean
.DEFAULT_GOAL := $(VENV)/.test

# The newest Python's venv; a .venv of another Python (an older checkout's) is made anew.
$(BIN)/python$(NEWEST):
	@$(if $(NEWEST),,echo "$(NO_PYTHON)" >&2; exit 1)
	$(PYTHON_$(NEWEST)) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: $(BIN)/python$(NEWEST) setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

build/venv-%/.test: setup.cfg pyproject.toml
	test -x build/venv-$*/bin/python$* || $(PYTHON_$*) -m venv --clear build/venv-$*
	build/venv-$*/bin/python -m pip install --quiet --upgrade pip
	build/venv-$*/bin/python -m pip install --quiet -e '.[test]'
	touch $@

# The whole loop on emulated services: a generated library, the example rules, the queue, deletions
# at once (--grace 0) with the emulated Discord's messages printed, then the API until Ctrl-C.
demo: $(VENV)/.runtime
	$(BIN)/prunerr demo --grace 0

# What CI runs: lint, then COMPAT_TESTS on each older Python, then the whole suite (PYTEST_ARGS
# go to this last run) on the newest. A pytest run that collects no test fails (exit code 5).
test: pythons lint $(OLDER:%=build/venv-%/.test)
	@set -e; for v in $(OLDER); do \
		echo "== Python $$v: $(COMPAT_TESTS)"; \
		build/venv-$$v/bin/python $(PYTEST) $(COMPAT_TESTS); \
	done
	@echo "== Python $(NEWEST): the whole suite"
	$(BIN)/python $(PYTEST) $(PYTEST_ARGS)

# The fast lane while working: lint, then the tests not marked slow (the language, rules, config,
# the database and the API's cheap paths), in under a minute. `make test` runs everything.
check: lint
	$(BIN)/python $(PYTEST) -m "not slow" $(PYTEST_ARGS)

# Which Pythons `make test` uses; under CI (CI=true) one that is missing fails the run.
pythons:
	@$(if $(NEWEST),,echo "$(NO_PYTHON)" >&2; exit 1)
	@$(if $(and $(UNDER_CI),$(MISSING)),echo "CI needs $(MISSING:%=python%): not found" >&2; exit 1)
	@$(if $(MISSING),echo "warning: not found: $(MISSING:%=python%); their tests are left to CI" >&2)
	@$(foreach v,$(FOUND),echo "Python $(v): $(PYTHON_$(v))";)

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.runtime
	$(BIN)/python bench/dsl.py

clean:
	rm -rf $(VENV) build *.egg-info
