"""Loading a recorded session for ``monitor.summary``: the one place the summary meets the database."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.events import EventKind, SessionEvent
from monitor.readings import Reading
from monitor.session import SessionInfo
from monitor.summary import SessionSummary, summarize
from recordings.database import Database
from recordings.observation_export import observation_log
from recordings.reader import RecordingReader


def summarize_session(db: Database, ref: int | str) -> SessionSummary:
    """The summary of session ``ref`` (an id or ``"latest"``); ``StorageError`` if there is none.
    Observations count in their current (amended) version; waveforms are not needed."""
    reader = RecordingReader(db)
    session = reader.session(ref)
    return summarize_loaded(session.info(), reader.readings(session.id), reader.events(session.id))


def summarize_loaded(info: SessionInfo, readings: Sequence[Reading], events: Sequence[SessionEvent]) -> SessionSummary:
    """The summary from a session already read (the exports read it once for everything)."""
    current = observation_log(list(events)).current()
    status = [e for e in events if e.kind in (EventKind.ALARM, EventKind.DEVICE_STATUS)]
    return summarize(info, readings, current, status)
