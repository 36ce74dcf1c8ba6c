#!/usr/bin/env bash
# Run the whole test suite headless, with a throw-away PostgreSQL when one is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
eval "$(scripts/start-postgres.sh)"
trap 'scripts/stop-postgres.sh' EXIT
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
