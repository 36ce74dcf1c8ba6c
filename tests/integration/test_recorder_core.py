"""The real core thread and the real recorder thread on a temporary SQLite file: what the drivers
deliver during a session is what the export shows, and a locked database mid-session reaches the
nurse as a technical notice without losing a reading."""

from __future__ import annotations

import sqlite3
import time

import numpy as np
import pytest

from monitor.clock import FakeClock
from monitor.core import Core
from monitor.events import NoticeLevel, TechnicalNotice
from monitor.ports import DeviceInfo
from monitor.readings import DeviceStatus, Flag, LinkState, Reading, WaveformBlock
from monitor.session import DosingProtocol, Session, SessionInfo
from recordings.database import open_database
from recordings.export import export_session
from recordings.recorder import NOTICE_KEY, Recorder

T_START = 1_800_000_000.0


class Relay:
    """The recorder is built before the core, so its notices go through a relay (as in app.pipeline)."""

    core: Core | None = None

    def post_notice(self, notice: TechnicalNotice) -> None:
        if self.core is not None:
            self.core.post_notice(notice)


@pytest.fixture
def pipeline(db_url):
    db = open_database(db_url, busy_timeout_ms=200)
    relay = Relay()
    clock = FakeClock(start=T_START)
    recorder = Recorder(db, relay, commit_interval_s=0.05, app_version="itest", clock=clock)
    core = Core(clock, recorder)
    relay.core = core
    recorder.start()
    core.start()
    yield db, clock, core, recorder
    core.stop()
    recorder.stop()
    db.close()


def _wait(predicate, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _ui_events(core: Core) -> list[object]:
    out = []
    while not core.ui_events.empty():
        out.append(core.ui_events.get())
    return out


def test_a_session_through_core_and_recorder_is_exported_as_delivered(pipeline):
    db, clock, core, recorder = pipeline
    core.register_device(DeviceInfo("sim:ox", "Simulated oximeter", "oximeter", 5.0))
    info = core.start_session(Session(SessionInfo("P-0042", DosingProtocol.KETAMINE_IV, "Nurse Int", clock.now())))
    sid = info.session_id
    assert sid is not None

    delivered = []
    for k in range(120):
        t = clock.advance(1.0)
        batch = [Reading("sim:ox", "spo2", t, 97.0 - (k % 3)), Reading("sim:ox", "pr", t, 70.0 + k % 5)]
        if k == 50:
            batch.append(Reading.invalid("sim:ox", "spo2", t, Flag.PROBE_OFF))
        delivered += batch
        core.put_readings(batch)
        core.put_waveform(WaveformBlock("sim:ox", "pleth", t - 1.0, 50.0, np.linspace(0, 1, 50)))
        if k == 30:
            core.mark_dose(t, user="Nurse Int")
    core.put_status(DeviceStatus("sim:ox", LinkState.LOST, clock.now(), "cable pulled"))
    _wait(lambda: core.readings_ingested == len(delivered))
    core.end_session(reason="ended", user="Nurse Int")
    core.stop()
    assert recorder.flush(10)

    doc = export_session(db, sid)
    assert doc["session"]["end_reason"] == "ended" and doc["session"]["t0_utc"] == T_START + 31
    assert len(doc["readings"]) == len(delivered)
    assert sum(r["value"] is None for r in doc["readings"]) == 1
    assert sum(len(w["samples"]) for w in doc["waveforms"]) == 120 * 50
    assert all(w["fs"] == 50.0 for w in doc["waveforms"]) and len(doc["waveforms"]) <= 120
    kinds = [e["kind"] for e in doc["events"]]
    assert kinds.count("session_started") == kinds.count("dose_given") == kinds.count("session_ended") == 1
    assert "device_status" in kinds and "technical_notice" in kinds  # the lost cable, shown and recorded
    assert doc["devices"] == [{"source": "sim:ox", "label": "Simulated oximeter", "kind": "oximeter", "stale_after_s": 5.0}]


def test_locked_database_mid_session_is_a_notice_for_the_nurse_and_loses_nothing(pipeline):
    db, clock, core, recorder = pipeline
    info = core.start_session(Session(SessionInfo("P-0043", DosingProtocol.SPRAVATO, "Nurse Int", clock.now())))
    sid = info.session_id
    core.put_readings([Reading("sim:ox", "spo2", clock.advance(1), 97.0)])
    _wait(lambda: core.readings_ingested == 1)
    assert recorder.flush(5)

    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for _ in range(20):
            core.put_readings([Reading("sim:ox", "spo2", clock.advance(1), 96.0)])
        seen: list[object] = []

        def failing_notice_shown() -> bool:
            seen.extend(_ui_events(core))
            return any(isinstance(e, TechnicalNotice) and e.key == NOTICE_KEY and e.active for e in seen)

        _wait(failing_notice_shown)
        notice = next(e for e in seen if isinstance(e, TechnicalNotice) and e.key == NOTICE_KEY)
        assert notice.level is NoticeLevel.CRITICAL and "Recording is failing" in notice.message
    finally:
        other.execute("ROLLBACK")
        other.close()

    _wait(lambda: core.readings_ingested == 21)
    assert recorder.flush(10)
    assert len(export_session(db, sid, live_session_id=sid)["readings"]) == 21

    def recorded_notices() -> list[bool]:  # the "works again" notice travels recorder -> core -> recorder
        recorder.flush(5)
        events = export_session(db, sid, live_session_id=sid)["events"]
        return [e["data"]["active"] for e in events if e["kind"] == "technical_notice" and e["data"]["key"] == NOTICE_KEY]

    _wait(lambda: recorded_notices() == [True, False])
