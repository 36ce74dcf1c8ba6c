"""Whether Qt can open a window here, and what to say when it cannot: shared by the dashboard
(``app.cli``) and ``session-monitor review`` (``app.review_cmd``), which must not import each other."""

from __future__ import annotations

import os
import sys

NO_DISPLAY_MESSAGE = (
    "session-monitor: no display found (DISPLAY / WAYLAND_DISPLAY unset). Run it on a desktop, or headless with "
    "QT_QPA_PLATFORM=offscreen session-monitor … (e.g. with --minutes and --screenshot), or under xvfb-run -a session-monitor …"
)


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
