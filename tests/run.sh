#!/usr/bin/env bash
# Every test: the whole suite on SQLite, then again on PostgreSQL.
#
#   tests/run.sh [--sqlite | --postgres] [pytest arguments…]
#
# No option: both passes (`make test`); --sqlite: the SQLite pass only (`make test-sqlite`);
# --postgres: the PostgreSQL pass only (`make test-postgres`). Both passes always run, each
# closing with pytest's own line; then one summary line for each pass, and the script fails
# if either failed.
#
# The PostgreSQL pass uses DESK_TEST_POSTGRES_URL (default below) and EMPTIES that database:
# every table is dropped and rebuilt by the migrations. When it is not reachable, the pass is
# skipped on a workstation, but it is a failure under CI (CI=true) or with --postgres.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PG_URL=${DESK_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}

passes=(sqlite postgres)
case "${1:-}" in
  --sqlite) passes=(sqlite); shift ;;
  --postgres) passes=(postgres); shift ;;
esac

summary=()
failed=0

record() {  # record NAME EXIT_CODE SECONDS
  if [ "$2" -eq 0 ]; then
    summary+=("$1: passed ($3 s)")
  else
    local why="exit $2"
    [ "$2" -eq 5 ] && why="exit 5: no test ran"
    summary+=("$1: FAILED ($why, $3 s)")
    failed=1
  fi
}

for pass in "${passes[@]}"; do
  if [ "$pass" = sqlite ]; then
    echo "== tests on SQLite"
    SECONDS=0
    env -u DESK_TEST_DATABASE_URL "$PY" -m pytest -q "$@"
    record SQLite $? $SECONDS
    continue
  fi

  # The URL as shown (password hidden), and whether the server answers.
  shown=$("$PY" - "$PG_URL" <<'PYEOF'
import sys
import sqlalchemy as sa
url = sa.make_url(sys.argv[1])
print(url.render_as_string(hide_password=True))
try:
    with sa.create_engine(url).connect() as c:
        c.execute(sa.text("select 1"))
except Exception as e:
    print(f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)}: {e.__class__.__name__}",
          file=sys.stderr)
    sys.exit(1)
PYEOF
  )
  reachable=$?
  if [ "$reachable" -eq 0 ]; then
    echo "== tests on PostgreSQL ($shown: its tables are dropped and rebuilt)"
    SECONDS=0
    DESK_TEST_DATABASE_URL="$PG_URL" "$PY" -m pytest -q "$@"
    record PostgreSQL $? $SECONDS
  elif [ "${CI:-}" = "true" ] || [ "${#passes[@]}" -eq 1 ]; then
    summary+=("PostgreSQL: FAILED (not reachable at ${shown:-DESK_TEST_POSTGRES_URL}; required under CI and by --postgres)")
    failed=1
  else
    summary+=("PostgreSQL: skipped (not reachable at ${shown:-the URL}; set DESK_TEST_POSTGRES_URL)")
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
