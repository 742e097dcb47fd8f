#!/usr/bin/env bash
# Every test: the whole suite on SQLite, then again on PostgreSQL when it is reachable.
# Under CI (CI=true) a missing PostgreSQL or browser is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PG_URL=${DESK_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}

echo "== tests on SQLite"
"$PY" -m pytest -q "$@"

if "$PY" - "$PG_URL" <<'PYEOF'
import sys
import sqlalchemy as sa
try:
    with sa.create_engine(sys.argv[1]).connect() as c:
        c.execute(sa.text("select 1"))
except Exception as e:
    print(f"PostgreSQL not reachable: {e.__class__.__name__}")
    sys.exit(1)
PYEOF
then
  echo "== tests on PostgreSQL"
  DESK_TEST_DATABASE_URL="$PG_URL" "$PY" -m pytest -q "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is required under CI" >&2
  exit 1
else
  echo "== PostgreSQL not reachable: skipped the second run"
fi
