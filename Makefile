# The desk's two everyday commands: `make run` (set up from nothing, run on SQLite with demo
# data) and `make test` (every test: SQLite, then PostgreSQL). See README.md.
# `make test-sqlite` / `make test-postgres` run one pass; TEST_ARGS goes to pytest, e.g.
# `make test-sqlite TEST_ARGS="tests/test_admin.py -k keyword"`.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PYTHON ?= python3
TEST_ARGS ?=

.PHONY: setup run test test-sqlite test-postgres bench bench-http bench-search bench-load bench-mail translations extract-messages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d desk/translations 2>&1 | grep -v "^compiling" || true

setup: $(VENV)/.installed translations

run: setup
	$(FLASK) db upgrade
	$(FLASK) desk init
	$(FLASK) desk demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: setup
	PY=$(PY) bash tests/run.sh $(TEST_ARGS)

test-sqlite: setup
	PY=$(PY) bash tests/run.sh --sqlite $(TEST_ARGS)

# Empties the database at DESK_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
test-postgres: setup
	PY=$(PY) bash tests/run.sh --postgres $(TEST_ARGS)

# ruff over the tree and mypy over desk/, as configured in pyproject.toml (.ci/run: before the tests).
.PHONY: lint
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy desk

bench: setup
	$(PY) -m tests.bench $(BENCH_ARGS)

# The staff's pages over HTTP through gunicorn (production settings), with the floor, the SQL
# and template time of each page and the workers' memory (tests/bench/http.py).
bench-http: setup
	$(PY) -m tests.bench.http $(BENCH_ARGS)

# The queue's search at scale: p50/p95 of Arabic and English searches (tests/bench/search.py).
bench-search: setup
	$(PY) -m tests.bench.search $(BENCH_ARGS)

# Tickets per second under gunicorn on PostgreSQL with a worker killed every 10 s, and a check
# that nothing was lost or duplicated (tests/bench/load.py; drops and creates desk_bench_load).
bench-load: setup
	$(PY) -m tests.bench.load $(BENCH_ARGS)

# Email intake: messages per second through import-mail and fetch-mail, and one large message's
# peak memory (tests/bench/mail.py; pass --database-url of a database of its own in BENCH_ARGS).
bench-mail: setup
	$(PY) -m tests.bench.mail $(BENCH_ARGS)

# After changing user-facing text: extract, merge into both catalogs, then translate.
extract-messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 -k _nl:1,2 -k _pl:1c,2 -o desk/translations/messages.pot --no-location --sort-output --no-wrap .
	$(VENV)/bin/pybabel update -i desk/translations/messages.pot -d desk/translations --ignore-obsolete --no-fuzzy-matching --no-wrap

clean:
	rm -rf $(VENV) instance .pytest_cache
