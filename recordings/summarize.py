"""Loading a recorded session for ``monitor.summary``: the one place the summary meets the database."""

from __future__ import annotations

from monitor.summary import SessionSummary, summarize_recorded
from recordings.database import Database
from recordings.reader import RecordingReader


def summarize_session(db: Database, ref: int | str) -> SessionSummary:
    """The summary of session ``ref`` (an id or ``"latest"``); ``StorageError`` if there is none.
    Observations count in their current (amended) version; waveforms are not needed."""
    reader = RecordingReader(db)
    session = reader.session(ref)
    return summarize_recorded(session.info(), reader.readings(session.id), reader.events(session.id))
