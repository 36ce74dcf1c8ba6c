"""``session-monitor report``: the printed session report as a PDF.

    session-monitor report --db URL --session ID|latest --output FILE.pdf

The PDF is written next to FILE as ``FILE.part`` and renamed into place only when complete, so a
failure never leaves a half-written report under the real name. Runs without a display.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from monitor.errors import KnownError
from recordings.database import open_database
from recordings.report import report_data

PROG = "session-monitor report"


def report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Write the report of a recorded session as a PDF.")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: SQLite in the user's data folder)")
    p.add_argument("--session", default="latest", metavar="ID|latest", help="session id, or 'latest' (default)")
    p.add_argument("--output", "-o", required=True, metavar="FILE.pdf", help="where to write the PDF")
    return p


def _gui_app() -> object:
    """The running QGuiApplication, or a new one (offscreen when there is no display)."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QGuiApplication([PROG])
    return app


def report_main(argv: list[str]) -> int:
    """Run ``session-monitor report``; 0 on success, 1 on a problem the message explains."""
    args = report_parser().parse_args(argv)
    out = Path(args.output).expanduser().absolute()
    tmp = out.with_name(out.name + ".part")
    try:
        with open_database(args.db) as db:
            data = report_data(db, args.session)
    except KnownError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    _app = _gui_app()
    from ui.report import ReportError, render_report

    try:
        if not out.parent.is_dir():
            raise ReportError(f"folder {out.parent} does not exist")
        render_report(data, tmp)
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise ReportError(f"nothing was written to {tmp}")
        tmp.replace(out)
    except (ReportError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"{PROG}: cannot write {out}: {reason}; choose another --output", file=sys.stderr)
        return 1
    print(f"Wrote the report of session {data.session_id} to {out}")
    return 0
