#!/usr/bin/env bash
# Start a throw-away PostgreSQL for the tests (house-style §9.5, hermetic variant): its own data
# folder and port, trust auth on 127.0.0.1 only. Prints the SQLAlchemy URL on stdout.
# Usage: eval "$(scripts/start-postgres.sh)"  → exports SESSION_MONITOR_PG_URL and PG_TEST_DIR.
set -euo pipefail
PGVER=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
if [ -z "$PGVER" ]; then echo "echo 'start-postgres: PostgreSQL is not installed; postgres tests will be skipped' >&2"; exit 0; fi
BIN=/usr/lib/postgresql/$PGVER/bin
PORT=${PG_TEST_PORT:-55432}
DIR=$(mktemp -d /tmp/sm-pg.XXXXXX)
RUN=""
if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; RUN="runuser -u postgres --"; fi
$RUN "$BIN/initdb" -D "$DIR/data" -A trust -U postgres --no-sync >/dev/null
$RUN "$BIN/pg_ctl" -D "$DIR/data" -w -l "$DIR/log" \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
$RUN "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres sessionmonitor
echo "export SESSION_MONITOR_PG_URL='postgresql+psycopg://postgres@127.0.0.1:$PORT/sessionmonitor'"
echo "export PG_TEST_DIR='$DIR'"
