# The commands of the README: `make serve`, `make test` and `make bench`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 7071

.PHONY: serve test lint demo bench

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

serve: $(STAMP)
	$(PY) -m devhost --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) -m engine run expense_claim --input '{"employee": "ada", "title": "Travel", "amount": 1250}' --approve

.PHONY: crash
crash: $(STAMP)   # the full crash campaign (kill -9 devhost 24 times mid-run); see README "Reliability"
	$(PY) -m tests.reliability.campaign

bench:  # the peers go into their own venv (bench/.venv-peers); writes bench/RESULTS.md
	PYTHON=$(PYTHON) bash bench/run.sh
