#!/usr/bin/env bash
# Stop and delete the PostgreSQL that start-postgres.sh made.
set -u
[ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ] || exit 0
PGVER=$(ls /usr/lib/postgresql | sort -V | tail -1)
RUN=""; [ "$(id -u)" = 0 ] && RUN="runuser -u postgres --"
$RUN "/usr/lib/postgresql/$PGVER/bin/pg_ctl" -D "$PG_TEST_DIR/data" -m fast stop >/dev/null 2>&1 || true
rm -rf "$PG_TEST_DIR"
