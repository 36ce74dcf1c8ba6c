"""``session-monitor review [--db URL] [--session ID|latest]``: the session browser, or one session directly."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from monitor.errors import StorageError
from recordings.database import open_database
from recordings.reader import RecordingReader


def review_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="session-monitor review", description="Review recorded sessions.")
    p.add_argument("--db", metavar="URL", default=None, help="database URL (default: the workstation's database)")
    p.add_argument("--session", metavar="ID|latest", default=None, help="open this session directly instead of the browser")
    return p


def build_review(reader: RecordingReader, session: str | None) -> tuple[Any, list[Any]]:
    """The first window to show (browser or review) and the list that keeps opened review windows alive."""
    from ui.review_window import ReviewWindow
    from ui.session_browser import SessionBrowser

    opened: list[Any] = []

    def open_review(session_id: int) -> None:
        try:
            w = ReviewWindow(reader, session_id)
        except StorageError as exc:
            print(f"session-monitor: {exc}", file=sys.stderr)
            return
        w.resize(1400, 900)
        w.show()
        opened.append(w)

    if session is not None:
        info = reader.session_info(session)
        assert info.session_id is not None
        first: Any = ReviewWindow(reader, info.session_id)
        first.resize(1400, 900)
    else:
        first = SessionBrowser(reader)
        first.resize(1100, 700)
        first.open_session.connect(open_review)
    return first, opened


def review_main(argv: list[str]) -> int:
    """Open the browser (or ``--session``) on ``--db``; returns the Qt exit code."""
    args = review_parser().parse_args(argv)
    db = open_database(args.db)
    try:
        reader = RecordingReader(db)
        if args.session is not None:
            reader.session_info(args.session)  # a clear message before any window opens
        from app.cli import NO_DISPLAY_MESSAGE, _has_display

        if not _has_display():
            print(NO_DISPLAY_MESSAGE, file=sys.stderr)
            return 2
        from PySide6.QtWidgets import QApplication

        from app import qt_logging

        qt_logging.install()
        qt = QApplication.instance() or QApplication(sys.argv[:1])
        qt.setApplicationName("Session Monitor review")
        first, _opened = build_review(reader, args.session)
        first.show()
        return int(qt.exec())
    finally:
        db.close()
