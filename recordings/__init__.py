"""Recording sessions to a database (SQLite by default, PostgreSQL optional) and reading them back.

Imports only ``monitor`` from the project (import-linter enforces it); ``app`` wires it in:
``open_database()`` -> ``Recorder`` (the one writer thread, a ``monitor.ports.RecordingSink``) ->
``RecordingReader`` / ``export_session`` / ``summarize_session`` for review and export
(``csv_export``, ``fhir_export``, ``edf_export`` for the other export formats).
"""

from recordings.database import Database, default_db_url, open_database
from recordings.export import export_session
from recordings.reader import DeviceRecord, RecordingReader, SessionRecord
from recordings.recorder import Recorder, RecorderStats
from recordings.summarize import summarize_session

__all__ = [
    "Database",
    "DeviceRecord",
    "Recorder",
    "RecorderStats",
    "RecordingReader",
    "SessionRecord",
    "default_db_url",
    "export_session",
    "open_database",
    "summarize_session",
]
