# newsmon: `make run` installs and runs the service; `make test` installs and runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | head -1)

.PHONY: install run crawl demo test lint typecheck unit services browser docs cli-docs screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres,distributed,web,alerts,dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job, on the embedded default (SQLite under data/).
run: install
	$(BIN)/newsmon run

demo: install
	$(BIN)/newsmon demo

## Start PostgreSQL and Redis if this machine has them and they are not running.
services:
	@if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  if [ -n "$(PG_VERSION)" ]; then pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start || true; fi; \
	fi
	@if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true; \
	fi

## Debian's chromium for the browser tests (the HTML digest, the web app): installed with apt when missing and
## possible (root, apt-get present); otherwise those tests are skipped, and the build goes on.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "could not install chromium; the browser tests will be skipped"; \
	fi

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

## The suite in TEST_WORKERS processes (pytest-xdist), one test module per worker at a time.
TEST_WORKERS ?= 2
unit: install services browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## Everything CI runs: lint, types, the whole test suite on SQLite and PostgreSQL.
test: lint typecheck unit

## Generated documents: docs/reliability.md from a full run of the fault suite (tests never
## write into the working tree; this target does, on purpose).
docs: install services
	NEWSMON_RELIABILITY_DOC=$(CURDIR)/docs/reliability.md $(BIN)/pytest -q tests/faults

## Screenshots of the web app's pages into docs/screenshots/ (over `newsmon demo` data).
screenshots: install browser
	$(BIN)/python tools/web_screenshots.py

## docs/cli.md from every command's --help (tests/test_docs_cli.py fails when it drifts).
cli-docs: install
	$(BIN)/python -m newsmon.docs_cli

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
