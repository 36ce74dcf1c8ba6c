"""Sign-off on PostgreSQL: the same hash, valid then outdated (skipped without ``SESSION_MONITOR_PG_URL``)."""

from __future__ import annotations

import dataclasses
import os
import uuid

import pytest

from monitor.events import EventKind, SessionEvent
from monitor.session import DosingProtocol, SessionInfo
from recordings.database import open_database
from recordings.recorder import Recorder
from recordings.signoff import add_signer, sign_session, signature_status

pytestmark = pytest.mark.postgres

T_START = 1_800_000_000.0


def test_sign_and_outdate_on_postgres():
    url = os.environ.get("SESSION_MONITOR_PG_URL")
    if not url:
        pytest.skip("SESSION_MONITOR_PG_URL is not set (scripts/start-postgres.sh starts a throw-away server)")
    login = f"dr-{uuid.uuid4().hex[:8]}"  # the server database is shared by the tests of one run
    with open_database(url) as db:
        rec = Recorder(db, commit_interval_s=0.05)
        rec.start()
        try:
            info = SessionInfo("P-PG", DosingProtocol.KETAMINE_IV, "Nurse", T_START)
            sid = rec.begin_session(info)
            rec.add_event(sid, SessionEvent(EventKind.DOSE_GIVEN, T_START + 60, "user:Nurse", {"sets_t0": True}))
            rec.update_session(dataclasses.replace(info, t0=T_START + 60, ended=T_START + 3600, session_id=sid))
            add_signer(db, login, "Dr PG", "a long password", iterations=1_000)
            assert sign_session(db, sid, login, "a long password", "approved").valid
            assert [s.valid for s in signature_status(db, sid)] == [True]
            rec.add_event(sid, SessionEvent(EventKind.NOTE, T_START + 3000, "user:Nurse", {"text": "later"}))
            assert [s.valid for s in signature_status(db, sid)] == [False]
        finally:
            rec.stop()
