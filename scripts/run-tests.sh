#!/usr/bin/env bash
# Run the whole test suite headless, with a throw-away PostgreSQL when one is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
eval "$(scripts/start-postgres.sh)"
trap 'scripts/stop-postgres.sh' EXIT
# Static checks first: they take seconds and say exactly where the fault is.
.venv/bin/lint-imports
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
