# Podium: `make demo` to try it, `make test` to run every test.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test lint format bench clean chromium
.DEFAULT_GOAL := demo

.venv/.installed: pyproject.toml
	@test -x $(PY) || python3.11 -m venv .venv
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

static/vendor/.installed: node_modules/.installed scripts/vendor_assets.sh
	./scripts/vendor_assets.sh
	@touch $@

## setup: Python and npm packages, browser assets
setup: .venv/.installed static/vendor/.installed

## chromium: Debian's chromium for the browser tests (never a downloaded browser build)
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

## demo: embedded mode (SQLite + filesystem broker), demo data, web + worker + beat
demo: setup
	$(PY) manage.py preflight
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo
	@echo "  Podium is starting at http://127.0.0.1:$${PORT:-8000}/  (Ctrl-C stops web, worker and beat)"
	@echo
	PORT=$${PORT:-8000} .venv/bin/honcho start -f Procfile.dev

## test: the whole suite, browser journeys included
test: setup chromium
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: setup
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

## bench: every benchmark (needs PostgreSQL and Redis; see bench/README.md)
bench: setup
	for b in bench/[!_]*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf var static/vendor .pytest_cache
