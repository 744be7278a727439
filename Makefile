# Two commands on a fresh machine:  `make run` (the site and its worker)  and  `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

.PHONY: setup run worker test lint format bench browser-deps

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

# The whole site on the embedded default: SQLite, a file-system broker, one worker, 127.0.0.1:8000.
run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo "Site on http://$(HOST):$(PORT)/ with an execution worker; Ctrl-C stops both."
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) -m celery -A leaderboard worker -B -s var/celerybeat-schedule -Q execution,generation -c 1 -l warning & worker=$$!; \
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver --noreload $(HOST):$(PORT)

worker: setup
	$(PY) -m celery -A leaderboard worker -Q execution,generation -c 1 -l info

# Debian's chromium drives the browser tests (a downloaded browser cannot be fetched here).
browser-deps:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# The whole suite against PostgreSQL and Redis on loopback, with real Celery worker processes.
test: setup browser-deps
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	for script in bench/bench_*.py; do $(PY) $$script || exit 1; done
