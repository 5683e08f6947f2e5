# Parley — the two commands are `make run` and `make test`; both set everything up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY311 ?= python3.11
PY310 ?= python3.10
VENV := .venv
RASA_VENV := .venv-rasa
export RASA_TELEMETRY_ENABLED := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup run test lint train clean

help:
	@echo "make run    set up if needed, train if needed, start Parley (web chat URL is printed)"
	@echo "make test   set up if needed, then ruff and the whole test suite"
	@echo "make setup  create or update both virtual environments"

$(VENV)/.stamp: pyproject.toml
	@test -x $(VENV)/bin/python || $(PY311) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	@touch $@

$(RASA_VENV)/.stamp: requirements-rasa.txt
	@test -x $(RASA_VENV)/bin/python || $(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install -q --upgrade 'pip<25' 'setuptools<71' wheel
	$(RASA_VENV)/bin/python -m pip install -q -r requirements-rasa.txt
	@touch $@

setup: $(VENV)/.stamp $(RASA_VENV)/.stamp

train: setup
	$(VENV)/bin/parley train

run: setup
	$(VENV)/bin/parley run

lint: setup
	$(VENV)/bin/ruff check .

test: setup
	@mkdir -p var
	bash scripts/ensure-services.sh
	bash scripts/ensure-browser.sh
	bash scripts/ensure-audio-tools.sh
	bash scripts/ensure-compose.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/parley train
	$(VENV)/bin/pytest -q --timeout 900

clean:
	rm -rf $(VENV) $(RASA_VENV) models var
