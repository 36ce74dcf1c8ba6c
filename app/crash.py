"""Bugs are never swallowed: every uncaught exception, in any thread, is logged with its traceback,
written to a crash report, and ends the program with a non-zero code after a normal shutdown
(drivers stopped, recorder flushed), so nothing already recorded is lost.

Environmental failures (``KnownError``) do not come here: they are shown and retried where they happen.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType

import platformdirs

log = logging.getLogger(__name__)

EXIT_BUG = 70  # EX_SOFTWARE


def log_dir() -> Path:
    path = Path(platformdirs.user_log_dir("session-monitor"))
    path.mkdir(parents=True, exist_ok=True)
    return path


class CrashHandler:
    """Installed once by the app; the GUI's control timer polls ``crashed`` and shuts down."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = directory
        self._lock = threading.Lock()
        self.crashed: str | None = None  # one-line summary of the first bug
        self.report_path: Path | None = None
        self._fault_file = None
        self.previous_crash: Path | None = None  # a report from an earlier run, shown once at start

    def install(self) -> None:
        directory = self._dir or log_dir()
        self._fault_file = open(directory / "faulthandler.log", "a", encoding="utf-8")
        faulthandler.enable(self._fault_file)
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook
        unseen = sorted(p for p in directory.glob("crash-*.txt") if not p.name.endswith(".seen.txt"))
        if unseen:
            log.warning("a previous run crashed: see %s", unseen[-1])
            for path in unseen:  # mentioned once, kept for the developers
                seen = path.with_name(path.stem + ".seen.txt")
                path.replace(seen)
            self.previous_crash = unseen[-1].with_name(unseen[-1].stem + ".seen.txt")

    def uninstall(self) -> None:
        sys.excepthook = sys.__excepthook__
        threading.excepthook = threading.__excepthook__
        if self._fault_file is not None:
            faulthandler.disable()
            self._fault_file.close()
            self._fault_file = None

    def _excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        self.report(exc_type, exc, tb, threading.current_thread().name)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        self.report(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback, name)

    def report(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None, thread: str) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.critical("unhandled exception in thread %s:\n%s", thread, text)
        with self._lock:
            if self.crashed is not None:
                return
            self.crashed = f"{exc_type.__name__} in thread {thread}: {exc}"
            directory = self._dir or log_dir()
            path = directory / time.strftime("crash-%Y%m%d-%H%M%S.txt")
            try:
                path.write_text(f"Session Monitor crash report\nthread: {thread}\n\n{text}", encoding="utf-8")
                self.report_path = path
            except OSError:
                log.exception("could not write the crash report to %s", path)
        print(f"session-monitor: internal error ({self.crashed}); report: {self.report_path}", file=sys.stderr)
