"""The Qt-free half of the wiring: database → recorder → core ← drivers, started in that order and
stopped in reverse. The dashboard (``app.bedside``) and the end-to-end tests use the same pipeline,
so what the tests prove is what the bedside program runs."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from monitor.clock import Clock
from monitor.core import Core
from monitor.events import TechnicalNotice
from monitor.ports import Driver, DriverSink
from monitor.schedule import load_templates
from monitor.session import Session, SessionInfo

if TYPE_CHECKING:
    from recordings.database import Database
    from recordings.interrupted import InterruptedSession
    from recordings.recorder import Recorder

log = logging.getLogger(__name__)


class _NoticeRelay:
    """Lets the recorder post notices to the core, which is built after it."""

    def __init__(self) -> None:
        self.target: Core | None = None

    def post_notice(self, notice: TechnicalNotice) -> None:
        if self.target is not None:
            self.target.post_notice(notice)


class Pipeline:
    def __init__(self, clock: Clock, db_url: str | None) -> None:
        from recordings.database import open_database
        from recordings.interrupted import close_interrupted_sessions
        from recordings.journal import recover_pending
        from recordings.recorder import Recorder

        self.clock = clock
        self.db: Database = open_database(db_url)  # StorageError before anything is started
        try:
            # emergency journals of an earlier run go back in first (recordings.journal), so that what a
            # killed or powered-off run left open then ends at its true last reading (issue 13, finding 6)
            recover_pending(self.db)
            self.interrupted: list[InterruptedSession] = close_interrupted_sessions(self.db)
        except BaseException:
            self.db.close()
            raise
        relay = _NoticeRelay()
        # its technical notices carry session time, like every other event (issue 13, finding 11)
        self.recorder: Recorder = Recorder(self.db, notices=relay, clock=clock)
        self.core = Core(clock, self.recorder, templates=load_templates())  # protocol rules: monitor/protocol_templates
        relay.target = self.core
        self._drivers: list[Driver] = []
        self._running = False

    def start(self) -> None:
        self.recorder.start()
        self.core.start()
        self._running = True

    def t0(self) -> float | None:
        """The session's first-dose time, for drivers whose simulated patient follows the dose."""
        session = self.core.session
        return session.t0 if session is not None else None

    def start_session(self, info: SessionInfo) -> Session:
        session = Session(info)
        self.core.start_session(session)
        return session

    def add_driver(self, driver: Driver, sink: DriverSink | None = None) -> None:
        """Start a device delivering into the core (or into ``sink``, a test's tee in front of it)."""
        driver.start(sink or self.core)
        self._drivers.append(driver)

    def remove_driver(self, driver: Driver) -> None:
        """Stop a device the user removed (its last status, STOPPED, is recorded)."""
        if driver in self._drivers:
            self._drivers.remove(driver)
            driver.stop()

    def stop_sources(self) -> None:
        """Stop the drivers, then let the core hand everything they delivered to the recorder."""
        while self._drivers:
            self._drivers.pop().stop()
        self.core.stop()

    def close(self, end_reason: str = "program closed") -> None:
        """Stop everything in reverse order; an open session is ended with ``end_reason``."""
        try:
            self.stop_sources()
            session = self.core.session
            if session is not None and session.info.ended is None and self._running:
                self.core.end_session(reason=end_reason)
        finally:
            if self._running:
                self.recorder.stop()
            self._running = False
            self.db.close()

    def exit_status(self, code: int) -> int:
        """After ``close``: non-zero, with a line saying what was saved where, if the database did not take everything."""
        message = self.recorder.exit_message
        if message is None:
            return code
        print(f"session-monitor: {message}", file=sys.stderr)
        return code or 1
