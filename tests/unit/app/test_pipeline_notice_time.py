"""Finding 11 of issue 13: the recorder's technical notices (recording failing / works again) are
stamped with the session clock the pipeline runs on, so an accelerated session shows them at the
right point of its timeline — not at the wall-clock time."""

from __future__ import annotations

import queue
import sqlite3
import time

from app.pipeline import Pipeline
from monitor.clock import FakeClock
from monitor.events import TechnicalNotice
from monitor.readings import Reading
from monitor.session import DosingProtocol, SessionInfo
from recordings.recorder import NOTICE_KEY

#: Far from the wall clock (about 40 days ahead of 2026-12), so a wall-time stamp cannot pass for it.
SESSION_T = 1_800_000_000.0


def _wait_for_notice(pipeline: Pipeline, active: bool, timeout_s: float = 20.0) -> TechnicalNotice:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            event = pipeline.core.ui_events.get(timeout=0.1)
        except queue.Empty:
            continue
        if isinstance(event, TechnicalNotice) and event.key == NOTICE_KEY and event.active is active:
            return event
    raise AssertionError(f"no recording notice (active={active}) within {timeout_s} s")


def test_recording_failing_and_working_again_notices_carry_session_time(tmp_path):
    clock = FakeClock(start=SESSION_T)
    path = tmp_path / "s.db"
    pipeline = Pipeline(clock, f"sqlite:///{path}")
    pipeline.start()
    try:
        session = pipeline.start_session(SessionInfo("PT-0001", DosingProtocol.SPRAVATO, "Nurse", clock.now()))
        assert session.info.session_id is not None
        clock.advance(600.0)  # ten session-minutes in, the database gets locked by another program
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            pipeline.recorder.submit_readings(session.info.session_id, [Reading("sim:ox", "spo2", clock.now(), 97.0)])
            failing = _wait_for_notice(pipeline, active=True)
            clock.advance(60.0)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        working = _wait_for_notice(pipeline, active=False)
        assert failing.t == SESSION_T + 600.0
        assert working.t == SESSION_T + 660.0
    finally:
        pipeline.close()
