# Sonda: `make run` starts the demo on SQLite, `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
SONDA_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
export SONDA_TEST_POSTGRES_URL

.PHONY: run test lint typecheck pytest pytest-postgres messages openapi bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sonda run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	@scripts/ensure-chromium
	SONDA_DATABASE_URL=sqlite:///:memory: DJANGO_SETTINGS_MODULE=config.test_settings $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

pytest-postgres: $(STAMP)
	@if $(BIN)/python scripts/postgres_available.py; then \
		echo "PostgreSQL pass: the Spark parity test (marked slow) ran in the SQLite pass"; \
		SONDA_DATABASE_URL=$(SONDA_TEST_POSTGRES_URL) $(BIN)/pytest -m "not slow"; \
	fi

test: lint typecheck pytest pytest-postgres

messages: $(STAMP)
	cd sonda && DJANGO_SETTINGS_MODULE=config.test_settings ../$(BIN)/python ../manage.py makemessages -l ro -l pl --no-obsolete
	cd sonda && DJANGO_SETTINGS_MODULE=config.test_settings ../$(BIN)/python ../manage.py compilemessages

openapi: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.test_settings $(BIN)/python manage.py export_openapi > docs/openapi.json

bench: $(STAMP)
	$(BIN)/python bench/identity_resolution.py

clean:
	rm -rf $(VENV) var/*.sqlite3*
