"""Loading a recorded session for ``monitor.summary``: the one place the summary meets the database."""

from __future__ import annotations

from monitor.events import EventKind
from monitor.summary import SessionSummary, summarize
from recordings.database import Database
from recordings.observation_export import observation_log
from recordings.reader import RecordingReader


def summarize_session(db: Database, ref: int | str) -> SessionSummary:
    """The summary of session ``ref`` (an id or ``"latest"``); ``StorageError`` if there is none.
    Observations count in their current (amended) version; waveforms are not needed."""
    reader = RecordingReader(db)
    session = reader.session(ref)
    readings = reader.readings(session.id)
    events = reader.events(session.id)
    current = observation_log(events).current()
    status = [e for e in events if e.kind in (EventKind.ALARM, EventKind.DEVICE_STATUS)]
    return summarize(session.info(), readings, current, status)
