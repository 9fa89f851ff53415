# Two commands on a fresh machine: `make run` and `make test`. Both build .venv, install the
# package, compile the translations and create what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PO     := $(wildcard locales/*/LC_MESSAGES/bot.po)
MO     := $(PO:.po=.mo)

.PHONY: run test test-pg lint typecheck unit check chat bench i18n translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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
	$(BIN)/voterbot check

lint: $(STAMP)
	$(BIN)/ruff check bot tests $(wildcard bench)
	$(BIN)/ruff format --check bot tests $(wildcard bench)
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy bot tests $(wildcard bench)

PG_INITDB := $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin/initdb)))

test: $(STAMP) translations lint typecheck
	$(BIN)/voterbot check
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-pg

# The end-to-end suites once more with PostgreSQL as the database (a throwaway cluster, see
# tests/conftest.py); the storage tests run on both backends in `pytest` above already.
test-pg: $(STAMP) translations
ifeq ($(PG_INITDB),)
	@echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): PostgreSQL tests skipped." \
	      "Install Debian's postgresql package (.ci/run does) to run them."
else
	VOTERBOT_TEST_DATABASE=postgresql $(BIN)/python -m pytest -q tests/test_conversation.py tests/test_faq.py \
	    tests/test_webhook.py tests/test_desk.py tests/test_desk_webhook.py
endif

bench: $(STAMP) translations
	$(BIN)/python -m bench

# Extract messages from the code into the template and merge them into every catalogue.
i18n: $(STAMP)
	$(BIN)/pybabel -q extract --no-location --sort-output --project=voterbot -k _ -k __ -k N_ -k ngettext:1,2 -o locales/bot.pot bot
	$(BIN)/pybabel -q update --no-fuzzy-matching -D bot -d locales -i locales/bot.pot

clean:
	rm -rf $(VENV) $(MO) .mypy_cache .ruff_cache .pytest_cache
