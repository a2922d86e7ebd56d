# The commands of the README: `make serve`, `make test` and `make bench`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 7071
# Azurite (the Storage emulator, from npm) for devhost's Storage tests, installed in the project (.tools/,
# gitignored), where devhost looks for it. 3.35.0 is the newest release whose engines accept Node.js 20.
AZURITE_VERSION := 3.35.0
AZURITE_STAMP := .tools/.azurite-$(AZURITE_VERSION)

.PHONY: serve test lint demo bench azurite

# pip runs --quiet (its full output is hundreds of lines); say what happens meanwhile and how long it took.
$(STAMP): requirements.txt requirements-dev.txt
	@echo "Setting up $(VENV): installing the Python requirements (about a minute the first time; later runs skip this)..."
	@start=$$(date +%s); \
	test -x $(PY) || $(PYTHON) -m venv $(VENV); \
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt && \
	echo "$(VENV) is ready ($$(( $$(date +%s) - start )) s)."
	@touch $(STAMP)

serve: $(STAMP)
	$(PY) -m devhost --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Without npm the Storage tests skip (saying why) and the rest run; with npm, Azurite is installed once.
azurite: $(AZURITE_STAMP)
$(AZURITE_STAMP):
	@if command -v npm >/dev/null 2>&1; then \
	  echo "Installing Azurite $(AZURITE_VERSION) into .tools/ with npm (for devhost's Storage tests; about 30 s, once)..."; \
	  npm install --prefix .tools --no-audit --no-fund --loglevel=error "azurite@$(AZURITE_VERSION)" && touch $@; \
	else \
	  echo "npm not found: the Storage tests that need Azurite (about 40) will be skipped."; \
	  echo "  Install Node.js 20 and npm (Debian/Ubuntu: sudo apt-get install nodejs npm; others: https://nodejs.org),"; \
	  echo "  then run make test again: it installs Azurite $(AZURITE_VERSION) into .tools/ itself."; \
	fi

test: lint azurite
	$(PY) -m pytest

demo: $(STAMP)
	$(PY) -m engine run expense_claim --input '{"employee": "ada", "title": "Travel", "amount": 1250}' --approve

.PHONY: crash
crash: $(STAMP)   # the full crash campaign (kill -9 devhost 24 times mid-run); see README "Reliability"
	$(PY) -m tests.reliability.campaign

bench:  # the peers go into their own venv (bench/.venv-peers); writes bench/RESULTS.md
	PYTHON=$(PYTHON) bash bench/run.sh
