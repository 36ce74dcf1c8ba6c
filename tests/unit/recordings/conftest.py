"""Fixtures for the recordings tests: a migrated temporary SQLite file, a notice collector, a recorder."""

from __future__ import annotations

import pytest
from rec_helpers import Notices

from recordings.database import open_database
from recordings.recorder import Recorder


@pytest.fixture
def db(db_url):
    database = open_database(db_url, busy_timeout_ms=200)
    yield database
    database.close()


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
def recorder(db, notices):
    rec = Recorder(db, notices, commit_interval_s=0.05, app_version="test")
    rec.start()
    yield rec
    rec.stop(timeout_s=5)
