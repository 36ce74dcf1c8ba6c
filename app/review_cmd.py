"""``session-monitor review [--db URL] [--session ID|latest | --course PATIENT]``: the session browser, one
session directly, or one patient's treatment course."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

from monitor.errors import KnownError, StorageError
from recordings.database import Database, open_database
from recordings.reader import RecordingReader


def review_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="session-monitor review", description="Review recorded sessions.")
    p.add_argument("--db", metavar="URL", default=None, help="database URL (default: the workstation's database)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--session", metavar="ID|latest", default=None, help="open this session directly instead of the browser")
    which.add_argument(
        "--course", metavar="PATIENT", default=None, help="open this patient's treatment course (all sessions side by side)"
    )
    p.add_argument(
        "--screenshot",
        metavar="FILE.png",
        help="save a picture of the first window once it is complete (summary included) and exit",
    )
    return p


def build_review(reader: RecordingReader, session: str | None, course: str | None = None) -> tuple[Any, list[Any]]:
    """The first window to show (browser, review or course) and the list that keeps opened windows alive."""
    from app.exports import DatabaseExports
    from recordings.signoff import DatabaseSignOff
    from ui.course_view import CourseWindow
    from ui.review_window import ReviewWindow
    from ui.session_browser import SessionBrowser

    opened: list[Any] = []

    def review_window(session_id: int) -> Any:
        return ReviewWindow(
            reader,
            session_id,
            signoff=DatabaseSignOff(reader.db),
            exports=DatabaseExports(reader.db),
            replay=replay_launcher(reader.db),
        )

    def opened_window(make: Any, size: tuple[int, int]) -> Any:
        """Build a window with the busy cursor up (a course reads every session); a database problem
        is shown to the user and logged, and nothing opens."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication, QMessageBox

        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            w = make()
        except (StorageError, ValueError) as exc:
            QApplication.restoreOverrideCursor()
            print(f"session-monitor: {exc}", file=sys.stderr)
            QMessageBox.warning(None, "Session Monitor", str(exc))
            return None
        QApplication.restoreOverrideCursor()
        w.resize(*size)
        w.show()
        opened.append(w)
        return w

    def open_review(session_id: int) -> None:
        opened_window(lambda: review_window(session_id), (1400, 900))

    def open_course(patient_id: str) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication, QProgressDialog

        dialog = QProgressDialog(f"Reading the sessions of patient {patient_id}…", "", 0, 0)
        dialog.setCancelButton(None)
        dialog.setWindowModality(Qt.WindowModality.ApplicationModal)  # no second click while it reads
        dialog.setMinimumDuration(300)  # shown only when the course takes a while

        def progress(done: int, total: int) -> None:
            dialog.setMaximum(total)
            dialog.setValue(done)
            dialog.setLabelText(f"Reading session {done + 1} of {total} of patient {patient_id}…")
            QApplication.processEvents()

        try:
            w = opened_window(lambda: CourseWindow(reader, patient_id, progress=progress), (1400, 950))
        finally:
            dialog.close()
        if w is not None:
            w.open_session.connect(open_review)

    if course is not None:
        first: Any = CourseWindow(reader, course)
        first.resize(1400, 950)
        first.open_session.connect(open_review)
    elif session is not None:
        info = reader.session_info(session)
        assert info.session_id is not None
        first = review_window(info.session_id)
        first.resize(1400, 900)
    else:
        first = SessionBrowser(reader)
        first.resize(1100, 700)
        first.open_session.connect(open_review)
        first.open_course.connect(open_course)
    return first, opened


def replay_command(db: Database, session_id: int, speed: float) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that replay a session of ``db`` on the live dashboard. A
    PostgreSQL password goes in the environment (PGPASSWORD), not on the command line."""
    from sqlalchemy.engine import URL

    env = dict(os.environ)
    u = db.url
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    bare = URL.create(u.drivername, username=u.username, host=u.host, port=u.port, database=u.database, query=u.query)
    argv = [
        sys.executable,
        "-m",
        "app",
        "--replay-session",
        str(session_id),
        "--from-db",
        bare.render_as_string(hide_password=False),
    ]
    return [*argv, "--speed", f"{speed:g}"], env


def replay_launcher(db: Database) -> Any:
    """What the review window's Replay button calls: the live dashboard replaying the session, as its
    own process (the dashboard owns its clock, devices and database; a replay must not disturb the review)."""

    def launch(session_id: int, speed: float) -> None:
        argv, env = replay_command(db, session_id, speed)
        try:
            subprocess.Popen(argv, env=env, start_new_session=True)
        except OSError as exc:
            raise KnownError(f"could not start the dashboard: {exc.strerror or exc}") from exc

    return launch


def _screenshot(qt: Any, window: Any, path: str) -> int:
    """Wait until the window is complete (a review window's summary is computed on a worker), save it, exit."""
    import time

    deadline = time.monotonic() + 60.0
    while getattr(window, "summary", True) is None and time.monotonic() < deadline:
        qt.processEvents()
        time.sleep(0.01)
    qt.processEvents()
    if not window.grab().save(path):
        print(f"session-monitor: cannot write the screenshot {path}: check the folder exists and is writable", file=sys.stderr)
        return 1
    window.close()
    return 0


def course_exists(reader: RecordingReader, patient_id: str) -> bool:
    """True when ``patient_id`` is one exact ID with recorded sessions; else says why on stderr."""
    from monitor.ports import SessionFilter

    pid = patient_id.strip()
    if not pid or pid.endswith("*"):
        print(f"session-monitor: --course needs one exact patient ID, not {patient_id!r}", file=sys.stderr)
        return False
    if reader.count_sessions(SessionFilter(patient_id=pid)) == 0:
        print(f"session-monitor: no sessions recorded for patient {pid} in {reader.db_name}", file=sys.stderr)
        return False
    return True


def review_main(argv: list[str]) -> int:
    """Open the browser (or ``--session``, or ``--course``) on ``--db``; returns the Qt exit code."""
    args = review_parser().parse_args(argv)
    db = open_database(args.db)
    try:
        reader = RecordingReader(db)
        if args.session is not None:
            reader.session_info(args.session)  # a clear message before any window opens
        if args.course is not None and not course_exists(reader, args.course):
            return 1
        from app.display import NO_DISPLAY_MESSAGE, has_display

        if not has_display():
            print(NO_DISPLAY_MESSAGE, file=sys.stderr)
            return 2
        from PySide6.QtWidgets import QApplication

        from app import gui_gc, qt_logging

        qt_logging.install()
        qt = QApplication.instance() or QApplication(sys.argv[:1])
        qt.setApplicationName("Session Monitor review")
        gui_gc.install()  # the summary worker must never collect the review's Qt garbage
        first, _opened = build_review(reader, args.session, args.course)
        first.show()
        if args.screenshot:
            return _screenshot(qt, first, args.screenshot)
        gui_gc.freeze_startup()
        return int(qt.exec())
    finally:
        db.close()
