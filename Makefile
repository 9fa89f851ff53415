# Two commands on a fresh machine: `make run` and `make test`. Both build .venv, install the
# package, compile the translations and create what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PO     := $(wildcard locales/*/LC_MESSAGES/bot.po)
MO     := $(PO:.po=.mo)

.PHONY: run test lint typecheck unit check chat bench i18n translations clean

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

chat: $(STAMP) translations
	$(BIN)/voterbot chat

check: $(STAMP) translations
	$(BIN)/voterbot check

lint: $(STAMP)
	$(BIN)/ruff check bot tests $(wildcard bench)
	$(BIN)/ruff format --check bot tests $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy bot

test: $(STAMP) translations lint typecheck
	$(BIN)/voterbot check
	$(BIN)/python -m pytest -q

bench: $(STAMP) translations
	$(BIN)/python -m bench

# Extract messages from the code into the template and merge them into every catalogue.
i18n: $(STAMP)
	$(BIN)/pybabel -q extract --no-location --sort-output --project=voterbot -k _ -k __ -k N_ -k ngettext:1,2 -o locales/bot.pot bot
	$(BIN)/pybabel -q update --no-fuzzy-matching -D bot -d locales -i locales/bot.pot

clean:
	rm -rf $(VENV) $(MO) .mypy_cache .ruff_cache .pytest_cache
