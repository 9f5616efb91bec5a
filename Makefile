# Everything a fresh machine needs goes through these targets (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KAFKA_PORT ?= 9092

.PHONY: install test demo lint kafka-up kafka-down bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[train,test]"
	touch $@

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

demo: install
	$(BIN)/badbuzz demo

kafka-up: install
	$(BIN)/badbuzz kafka up --port $(KAFKA_PORT)

kafka-down: install
	$(BIN)/badbuzz kafka down
