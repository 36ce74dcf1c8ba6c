#!/usr/bin/env bash
# Start the dashboard on a simulated ketamine session. With no display, run it offscreen for a
# while and save a screenshot instead, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
SM=.venv/bin/session-monitor
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}${QT_QPA_PLATFORM:-}" ]; then
  mkdir -p out
  echo "run-demo: no display here, so the demo runs offscreen: 45 session-minutes at 60x (45 s), screenshot in out/dashboard.png"
  QT_QPA_PLATFORM=offscreen $SM --demo ketamine-typical --via-serial --speed 60 --minutes 45 --screenshot out/dashboard.png "$@"
  echo "run-demo: done. Screenshot: out/dashboard.png; the session: $SM export --session latest"
else
  exec $SM --demo ketamine-typical --via-serial --speed "${SPEED:-10}" "$@"
fi
