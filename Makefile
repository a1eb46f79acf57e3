# Two commands matter (see README): `make demo` and `make test`.
PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

# The test suite runs on PostgreSQL and Redis; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/c2c_ops
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: setup demo serve test test-clock lint fmt bench-faults bench-reconciliation bench-ingest bench-metrics bench-queue bench-dashboards bench-two-nodes clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The `fast` extra (gunicorn's C HTTP parser) builds from source: only with a C compiler.
FAST_EXTRA := $(if $(shell command -v cc 2>/dev/null),--extra fast,)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON) $(FAST_EXTRA)
	touch $@

setup: .venv/.synced

## Run the app with a month of demo data on the embedded default (SQLite, no servers).
## Elsewhere than 127.0.0.1:8000: `make demo PORT=8001` (and HOST=...).
HOST ?= 127.0.0.1
PORT ?= 8000
demo: setup
	.venv/bin/python manage.py demo --host $(HOST) --port $(PORT)

## Lint, Django checks, and the whole test suite on PostgreSQL + Redis.
## In-process tests run on $(TEST_PROCESSES) processes (pytest-xdist, a database each);
## tests that start servers and workers (marked live) run after them, one at a time, as
## they share the Redis broker. With PYTEST_ARGS, one run of just what they name;
## PYTEST_OPTS are options for every run (CI: -p no:cacheprovider).
TEST_PROCESSES ?= 2
PYTEST_OPTS ?=
TEST_ENV = DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL)
test: setup lint
	$(TEST_ENV) .venv/bin/python manage.py makemigrations --check --dry-run
ifeq ($(strip $(PYTEST_ARGS)),)
	$(TEST_ENV) .venv/bin/pytest $(PYTEST_OPTS) -m "not live" -n $(TEST_PROCESSES)
	$(TEST_ENV) .venv/bin/pytest $(PYTEST_OPTS) -m live
else
	$(TEST_ENV) .venv/bin/pytest $(PYTEST_OPTS) $(PYTEST_ARGS)
endif

## The suite again at three moments where date arithmetic breaks (see tests/conftest.py):
## a year's last minutes, a month's first, and a DST change in the business calendar's zone.
## Tests that start server processes (marked live) keep the real time and run in `test` only.
CLOCK_PYTEST = $(TEST_ENV) .venv/bin/pytest $(PYTEST_OPTS) -m "not live" -n $(TEST_PROCESSES) \
	$(PYTEST_ARGS)
test-clock: setup
	C2C_TEST_NOW=2026-12-31T23:55:00Z $(CLOCK_PYTEST)
	C2C_TEST_NOW=2027-03-01T00:05:00Z $(CLOCK_PYTEST)
	C2C_TEST_NOW=2027-03-28T00:55:00Z C2C_TEST_CALENDAR_ZONE=Europe/Paris $(CLOCK_PYTEST)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python manage.py check

fmt: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

## Faults under a bounded ingest load (restarts this machine's PostgreSQL and Redis).
bench-faults: setup
	.venv/bin/python bench/faults.py $(BENCH_ARGS)

## Ingest throughput against the raw COPY limit (PostgreSQL, gunicorn on loopback).
bench-ingest: setup
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/c2c_ops_bench} \
		.venv/bin/python bench/ingest.py

## Two web nodes, two workers and a beat (each its own process) under a bounded load.
bench-two-nodes: setup
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/c2c_ops_bench_nodes} \
		.venv/bin/python bench/two_nodes.py

## The metrics engine at 1,000,000 transactions against raw SQL of the same work.
bench-metrics: setup
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/c2c_ops_bench} \
		.venv/bin/python bench/metrics.py

## Reconciliation at 100,000 contracts / 1,000,000 transactions against raw SQL.
bench-reconciliation: setup
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/c2c_ops_bench} \
		.venv/bin/python bench/reconciliation.py $(BENCH_ARGS)

## The exception queue page with 100,000 open cases against the raw SQL of its queries.
bench-queue: setup
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/c2c_ops_bench} \
		.venv/bin/python bench/exceptions_queue.py

## The dashboard pages at 1,000,000 transactions and 10,000,000 spans against their raw SQL.
bench-dashboards: setup
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/c2c_ops_bench} \
		.venv/bin/python bench/dashboards.py $(BENCH_ARGS)

clean:
	rm -rf .venv .tools var db.sqlite3*
