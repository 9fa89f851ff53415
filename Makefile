# Two commands on a fresh machine: `make run` and `make test`. Both build .venv, install the
# package, compile the translations and create what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PO     := $(wildcard locales/*/LC_MESSAGES/bot.po)
MO     := $(PO:.po=.mo)

.PHONY: run test test-fast test-pg lint typecheck unit check chat bench i18n translations clean

# The virtualenv is filled by uv (10 s from a cold cache, bytecode included, against 30 s for pip),
# which the machine's pip puts into the venv; when that cannot be done, pip fills the venv as before.
# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set, every bot process of the tests
# would otherwise compile aiogram again (1.5 s of CPU each).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --disable-pip-version-check uv \
	  && $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]' pip \
	  || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet -e '.[dev]'; }
	touch $(STAMP)

locales/%/LC_MESSAGES/bot.mo: locales/%/LC_MESSAGES/bot.po $(STAMP)
	$(BIN)/pybabel compile --statistics -D bot -l $* -i $< -o $@

translations: $(MO)

run: $(STAMP) translations
	$(BIN)/voterbot run

# `make chat ARGS="--lang kk --at 2026-03-15T10:00"`: the options of `voterbot chat`.
chat: $(STAMP) translations
	$(BIN)/voterbot chat $(ARGS)

check: $(STAMP) translations
	$(BIN)/voterbot check --rules

lint: $(STAMP)
	$(BIN)/ruff check bot tests $(wildcard bench)
	$(BIN)/ruff format --check bot tests $(wildcard bench)
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy bot tests $(wildcard bench)

PG_INITDB := $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin/initdb)))
# pytest-xdist workers: two per core by default (the tests wait on sockets, subprocesses and timers
# about half the time); `make test WORKERS=0` runs in one process. Tests are sent to the workers one
# at a time (--maxschedchunk=1), so the slow process tests, collected first, spread over all of them.
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) * 2 )))
XDIST   = -n $(WORKERS) --maxschedchunk=1

# The whole suite: lint, `voterbot check --rules` (the content in data/: schema, translations, every
# milestone's preview, no source before its date), then mypy beside pytest (mypy's report is printed
# after pytest's). The tests run on the fixture campaigns of tests/fixtures/, never on data/. One
# pytest session runs everything on the xdist workers: the storage tests and the
# end-to-end modules marked `both_backends` on SQLite and PostgreSQL (a throwaway cluster per worker,
# see tests/conftest.py; skipped with the reason when PostgreSQL is not installed), and the `slow`
# process tests first.
test: $(STAMP) translations lint
	$(BIN)/voterbot check --rules
	@$(BIN)/python -m compileall -q -j 0 bot >/dev/null  # the bytecode every bot process of the tests reads
	@echo "$(BIN)/mypy bot tests $(wildcard bench) & $(BIN)/python -m pytest -q $(XDIST)"
	@$(BIN)/mypy bot tests $(wildcard bench) >$(VENV)/mypy.out 2>&1 & mypy=$$!; \
	$(BIN)/python -m pytest -q $(XDIST); tests=$$?; \
	wait $$mypy; typed=$$?; echo "mypy:"; cat $(VENV)/mypy.out; \
	test $$tests -eq 0 -a $$typed -eq 0

# The quick loop while editing: everything but the `slow` tests (those start the bot as a process).
test-fast: $(STAMP) translations
	$(BIN)/python -m pytest -q $(XDIST) -m "not slow"

# Only the PostgreSQL half of the both-backend end-to-end modules (also part of `make test`).
test-pg: $(STAMP) translations
ifeq ($(PG_INITDB),)
	@echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): PostgreSQL tests skipped." \
	      "Install Debian's postgresql package (.ci/run does) to run them."
else
	$(BIN)/python -m pytest -q $(XDIST) -m both_backends -k postgresql
endif

bench: $(STAMP) translations
	$(BIN)/python -m bench

# Extract messages from the code into the template and merge them into every catalogue.
i18n: $(STAMP)
	$(BIN)/pybabel -q extract --no-location --sort-output --project=voterbot -k _ -k __ -k N_ -k ngettext:1,2 -o locales/bot.pot bot
	$(BIN)/pybabel -q update --no-fuzzy-matching -D bot -d locales -i locales/bot.pot

clean:
	rm -rf $(VENV) $(MO) .mypy_cache .ruff_cache .pytest_cache
