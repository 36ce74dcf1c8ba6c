"""The same schema and round trip on PostgreSQL (``SESSION_MONITOR_PG_URL``, started by
``scripts/start-postgres.sh``); skipped when no server is configured."""

from __future__ import annotations

import os

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from monitor.events import EventKind, SessionEvent
from monitor.ports import DeviceInfo
from monitor.readings import Flag, Quality, Reading, WaveformBlock
from monitor.session import DosingProtocol, SessionInfo
from recordings.database import open_database
from recordings.export import export_session
from recordings.models import Base
from recordings.recorder import Recorder

pytestmark = pytest.mark.postgres

T_START = 1_800_000_000.0


@pytest.fixture
def pg_db():
    url = os.environ.get("SESSION_MONITOR_PG_URL")
    if not url:
        pytest.skip("SESSION_MONITOR_PG_URL is not set (scripts/start-postgres.sh starts a throw-away server)")
    db = open_database(url)
    yield db
    db.close()


def test_postgres_schema_matches_the_models(pg_db):
    assert pg_db.path is None and pg_db.revision == "0002"
    with pg_db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata) == []


def test_postgres_round_trip(pg_db):
    rec = Recorder(pg_db, commit_interval_s=0.05, app_version="pg-test")
    rec.start()
    try:
        sid = rec.begin_session(SessionInfo("PG-0001", DosingProtocol.KETAMINE_IV, "Nurse PG", T_START, speed=60.0))
        rec.register_device(sid, DeviceInfo("sim:ox", "Simulated oximeter", "oximeter", 5.0))
        rec.submit_readings(sid, [Reading("sim:ox", "spo2", T_START + i, 97.0) for i in range(100)])
        rec.submit_readings(sid, [Reading.invalid("sim:ox", "spo2", T_START + 100, Flag.PROBE_OFF)])
        rec.submit_readings(sid, [Reading("sim:unregistered", "hr", T_START + 5, 71.0, Quality.QUESTIONABLE, Flag.ARTEFACT)])
        for k in range(6):
            rec.submit_waveform(sid, WaveformBlock("sim:ox", "pleth", T_START + k * 0.5, 100.0, np.full(50, 0.5)))
        rec.submit_event(sid, SessionEvent(EventKind.DEVICE_STATUS, T_START, "sim:ox", {"state": "streaming"}))
        rec.add_event(sid, SessionEvent(EventKind.DOSE_GIVEN, T_START + 60, "user:Nurse PG", {"sets_t0": True}))
        rec.update_session(
            SessionInfo(
                "PG-0001", DosingProtocol.KETAMINE_IV, "Nurse PG", T_START, T_START + 60, T_START + 3600, sid, "ended", 60.0
            )
        )
        assert rec.flush(10)
    finally:
        rec.stop()

    doc = export_session(pg_db, sid)
    assert doc["session"]["end_reason"] == "ended" and doc["session"]["speed"] == 60.0
    assert doc["session"]["t0"] == "2027-01-15T08:01:00.000Z"
    assert len(doc["readings"]) == 102
    assert [r["value"] for r in doc["readings"] if r["quality"] == "INVALID"] == [None]
    assert {d["source"] for d in doc["devices"]} == {"sim:ox", "sim:unregistered"}
    assert [len(w["samples"]) for w in doc["waveforms"]] == [100, 100, 100]
    assert [e["kind"] for e in doc["events"]] == ["device_status", "dose_given"]
