"""The reader gives frozen dataclasses; the export is the documented ``session-monitor/1`` JSON."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3

import numpy as np
import pytest
from rec_helpers import T_START, session_info

from monitor.errors import StorageError
from monitor.events import EventKind, SessionEvent
from monitor.ports import DeviceInfo
from monitor.readings import Flag, Quality, Reading, WaveformBlock
from monitor.session import DosingProtocol, SessionInfo
from recordings.export import FORMAT, export_session, iso_utc
from recordings.reader import DeviceRecord, RecordingReader, SessionRecord

T0 = T_START + 300  # first dose five minutes in


@pytest.fixture
def recorded(db, recorder):
    """One finished session with two devices, a dose, a gap and a waveform."""
    info = session_info()
    sid = recorder.begin_session(info)
    recorder.register_device(sid, DeviceInfo("sim:ox", "Simulated oximeter", "oximeter", 5.0))
    recorder.register_device(sid, DeviceInfo("sim:cuff", "Simulated cuff", "nibp", 900.0))
    recorder.add_event(sid, SessionEvent(EventKind.SESSION_STARTED, T_START, "app", {"patient_id": "P-0001"}))
    recorder.submit_readings(
        sid, [Reading("sim:ox", "spo2", T_START + 60, 98.0), Reading("sim:cuff", "nibp_sys", T_START + 30, 121.0)]
    )
    recorder.submit_readings(sid, [Reading.invalid("sim:ox", "spo2", T0 + 90, Flag.PROBE_OFF | Flag.NO_VALUE)])
    recorder.submit_waveform(sid, WaveformBlock("sim:ox", "pleth", T0, 4.0, np.array([0.1, 0.25, np.nan, 1.0])))
    recorder.update_session(dataclasses.replace(info, t0=T0, session_id=sid))
    recorder.add_event(sid, SessionEvent(EventKind.DOSE_GIVEN, T0, "user:Nurse Test", {"sets_t0": True}))
    recorder.update_session(dataclasses.replace(info, t0=T0, ended=T_START + 3600, end_reason="ended", session_id=sid))
    assert recorder.flush(5)
    return sid


def test_export_document(db, recorded):
    doc = export_session(db, recorded)
    json.dumps(doc, allow_nan=False)  # JSON-ready as it is
    assert doc["format"] == FORMAT == "session-monitor/1"
    assert doc["session"] == {
        "id": recorded,
        "patient_id": "P-0001",
        "protocol": "spravato",
        "protocol_label": "Spravato (esketamine) intranasal",
        "clinician": "Nurse Test",
        "started": "2027-01-15T08:00:00.000Z",
        "t0": "2027-01-15T08:05:00.000Z",
        "ended": "2027-01-15T09:00:00.000Z",
        "started_utc": T_START,
        "t0_utc": T0,
        "ended_utc": T_START + 3600,
        "end_reason": "ended",
        "speed": 1.0,
        "app_version": "test",
    }
    assert doc["devices"] == [
        {"source": "sim:ox", "label": "Simulated oximeter", "kind": "oximeter", "stale_after_s": 5.0},
        {"source": "sim:cuff", "label": "Simulated cuff", "kind": "nibp", "stale_after_s": 900.0},
    ]
    assert doc["channels"] == {
        "nibp_sys": {"label": "NIBP sys", "unit": "mm[Hg]", "loinc": "8480-6", "mdc": 150021},
        "pleth": {"label": "Pleth", "unit": "1", "loinc": None, "mdc": 150452},
        "spo2": {"label": "SpO₂", "unit": "%", "loinc": "59408-5", "mdc": 150456},
    }
    assert doc["readings"] == [  # time order across devices
        {
            "t": T_START + 30,
            "time": "2027-01-15T08:00:30.000Z",
            "minutes_from_t0": -4.5,
            "source": "sim:cuff",
            "channel": "nibp_sys",
            "value": 121.0,
            "unit": "mm[Hg]",
            "quality": "OK",
            "flags": [],
        },
        {
            "t": T_START + 60,
            "time": "2027-01-15T08:01:00.000Z",
            "minutes_from_t0": -4.0,
            "source": "sim:ox",
            "channel": "spo2",
            "value": 98.0,
            "unit": "%",
            "quality": "OK",
            "flags": [],
        },
        {
            "t": T0 + 90,
            "time": "2027-01-15T08:06:30.000Z",
            "minutes_from_t0": 1.5,
            "source": "sim:ox",
            "channel": "spo2",
            "value": None,
            "unit": "%",
            "quality": "INVALID",
            "flags": ["PROBE_OFF", "NO_VALUE"],
        },
    ]
    assert doc["waveforms"] == [
        {
            "source": "sim:ox",
            "channel": "pleth",
            "t0": T0,
            "time": "2027-01-15T08:05:00.000Z",
            "fs": 4.0,
            "samples": [0.1, 0.25, None, 1.0],
        }
    ]
    assert [(e["kind"], e["time"], e["source"], e["data"]) for e in doc["events"]] == [
        ("session_started", "2027-01-15T08:00:00.000Z", "app", {"patient_id": "P-0001"}),
        ("dose_given", "2027-01-15T08:05:00.000Z", "user:Nurse Test", {"sets_t0": True}),
    ]


def test_export_without_waveforms(db, recorded):
    doc = export_session(db, "latest", include_waveforms=False)
    assert doc["waveforms"] == [] and "pleth" not in doc["channels"]


def test_a_session_that_never_ended_is_exported_as_interrupted_without_writing(db, recorder):
    sid = recorder.begin_session(session_info())
    recorder.submit_readings(sid, [Reading("sim:ox", "spo2", T_START, 97.0)])
    assert recorder.flush(5)
    doc = export_session(db, sid)
    assert doc["session"]["ended"] is None and doc["session"]["end_reason"] == "interrupted"
    assert export_session(db, sid, live_session_id=sid)["session"]["end_reason"] is None  # the one being recorded
    con = sqlite3.connect(db.path)
    try:
        assert con.execute("SELECT ended_utc, end_reason FROM sessions").fetchall() == [(None, None)]
    finally:
        con.close()


def test_missing_session_says_how_to_find_one(db, recorded):
    with pytest.raises(StorageError) as err:
        export_session(db, 42)
    message = str(err.value)
    assert f"no session 42 in {db.path}" in message
    assert f"it has sessions {recorded}-{recorded}" in message
    assert "`session-monitor export --db URL --session latest`" in message


def test_latest_of_an_empty_database_and_a_bad_reference(db):
    with pytest.raises(StorageError, match=r"no sessions recorded in .* yet"):
        export_session(db, "latest")
    with pytest.raises(StorageError, match=r"no session 3 .*it has no sessions"):
        export_session(db, "3")
    with pytest.raises(StorageError, match="'yesterday' does not name a session"):
        export_session(db, "yesterday")


def test_reader_lists_and_resolves_sessions_as_frozen_records(db, recorder):
    first = recorder.begin_session(session_info("P-0001"))
    second = recorder.begin_session(SessionInfo("P-0002", DosingProtocol.KETAMINE_IM, "Nurse B", T_START + 9000, speed=60.0))
    reader = RecordingReader(db)
    sessions = reader.list_sessions()
    assert [s.id for s in sessions] == [second, first]
    assert all(isinstance(s, SessionRecord) for s in sessions)
    latest = reader.session("latest")
    assert latest == reader.session(second) == reader.session(str(second)) == sessions[0]
    assert latest.protocol is DosingProtocol.KETAMINE_IM and latest.speed == 60.0
    assert latest.info() == SessionInfo(
        "P-0002", DosingProtocol.KETAMINE_IM, "Nurse B", T_START + 9000, session_id=second, speed=60.0
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        latest.patient_id = "changed"  # type: ignore[misc]
    assert reader.list_sessions(limit=1) == [latest]


def test_reader_returns_monitor_value_types_and_filters(db, recorded):
    reader = RecordingReader(db)
    readings = reader.readings(recorded)
    assert all(type(r) is Reading for r in readings)
    gap = readings[-1]
    assert gap.quality is Quality.INVALID and math.isnan(gap.value) and gap.flags == Flag.PROBE_OFF | Flag.NO_VALUE
    assert [r.channel for r in reader.readings(recorded, channels=["spo2"])] == ["spo2", "spo2"]
    assert [r.t for r in reader.readings(recorded, t_from=T_START + 60, t_to=T0 + 90)] == [T_START + 60]
    (block,) = reader.waveforms(recorded)
    assert type(block) is WaveformBlock and block.fs == 4.0 and block.samples.dtype == np.float64
    np.testing.assert_allclose(block.samples, [0.1, 0.25, np.nan, 1.0], rtol=1e-6)
    assert reader.waveforms(recorded, channels=["ecg_ii"]) == []
    devices = reader.devices(recorded)
    assert all(isinstance(d, DeviceRecord) for d in devices)
    assert devices[0].info() == DeviceInfo("sim:ox", "Simulated oximeter", "oximeter", 5.0)
    events = reader.events(recorded)
    assert [type(e) for e in events] == [SessionEvent, SessionEvent] and events[1].kind is EventKind.DOSE_GIVEN


def test_iso_times_are_utc_with_milliseconds():
    assert iso_utc(None) is None
    assert iso_utc(T_START + 0.25) == "2027-01-15T08:00:00.250Z"
