"""The recorder writes what it is given: readings (NaN as NULL), merged waveform chunks, events and
sessions; clinician writes are committed when they return; flush and stop leave nothing behind."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from rec_helpers import T_START, session_info

from monitor.errors import StorageError
from monitor.events import EventKind, NoticeLevel, SessionEvent
from monitor.ports import DeviceInfo
from monitor.readings import Flag, Quality, Reading, WaveformBlock
from monitor.session import DosingProtocol, SessionInfo
from recordings import recorder as recorder_module
from recordings.export import export_session
from recordings.recorder import Recorder


def _other_connection(db) -> sqlite3.Connection:
    """A second, independent connection: sees only what was committed."""
    return sqlite3.connect(db.path)


def _rows(db, sql: str) -> list[tuple]:
    con = _other_connection(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_readings_round_trip_with_missing_values_as_null(db, recorder):
    sid = recorder.begin_session(session_info())
    readings = [
        Reading("sim:ox", "spo2", T_START + 1, 97.0),
        Reading("sim:ox", "spo2", T_START + 2, 95.0, Quality.QUESTIONABLE, Flag.ARTEFACT | Flag.LOW_PERFUSION, device_t=12.5),
        Reading.invalid("sim:ox", "spo2", T_START + 3, Flag.PROBE_OFF),
        Reading("sim:ox", "pr", T_START + 3, math.nan, Quality.QUESTIONABLE, Flag.SEARCHING),
    ]
    recorder.submit_readings(sid, readings)
    assert recorder.flush(5)

    stored = _rows(db, "SELECT channel, t_utc, value, quality, flags, device_t FROM readings ORDER BY id")
    assert stored == [
        ("spo2", T_START + 1, 97.0, 0, 0, None),
        ("spo2", T_START + 2, 95.0, 1, 10, 12.5),
        ("spo2", T_START + 3, None, 2, 1, None),
        ("pr", T_START + 3, None, 1, 4, None),
    ]
    doc = export_session(db, sid, live_session_id=sid)
    assert [r["value"] for r in doc["readings"]] == [97.0, 95.0, None, None]
    assert doc["readings"][1]["quality"] == "QUESTIONABLE" and doc["readings"][1]["flags"] == ["ARTEFACT", "LOW_PERFUSION"]
    assert doc["readings"][2]["quality"] == "INVALID" and doc["readings"][2]["flags"] == ["PROBE_OFF"]


def _blocks(t0: float, fs: float, n_blocks: int, per_block: int, start: int = 0) -> list[WaveformBlock]:
    return [
        WaveformBlock(
            "sim:ox", "pleth", t0 + (k * per_block) / fs, fs, np.arange(start + k * per_block, start + (k + 1) * per_block) / 1000
        )
        for k in range(n_blocks)
    ]


def test_contiguous_waveform_blocks_are_merged_into_one_second_chunks(db, recorder):
    sid = recorder.begin_session(session_info())
    for block in _blocks(T_START, 100.0, 10, 25):  # 2.5 s in 0.25 s blocks
        recorder.submit_waveform(sid, block)
    assert recorder.flush(5)
    chunks = _rows(db, "SELECT t0_utc, fs, n, dtype, data FROM waveform_chunks ORDER BY t0_utc")
    assert [(t0, fs, n, dtype) for t0, fs, n, dtype, _ in chunks] == [
        (T_START, 100.0, 100, "<f4"),
        (T_START + 1.0, 100.0, 100, "<f4"),
        (T_START + 2.0, 100.0, 50, "<f4"),  # the rest, written by flush()
    ]
    samples = np.concatenate([np.frombuffer(data, "<f4") for *_, data in chunks])
    np.testing.assert_array_equal(samples, (np.arange(250) / 1000).astype("<f4"))


def test_a_gap_or_a_new_rate_starts_a_new_chunk_and_nan_samples_survive(db, recorder):
    sid = recorder.begin_session(session_info())
    first = WaveformBlock("sim:ox", "pleth", T_START, 100.0, np.array([0.1, np.nan, 0.3]))
    after_gap = WaveformBlock("sim:ox", "pleth", T_START + 5.0, 100.0, np.array([0.5, 0.6]))
    new_rate = WaveformBlock("sim:ox", "pleth", T_START + 5.02, 50.0, np.array([0.7]))
    other_channel = WaveformBlock("sim:ecg", "ecg_ii", T_START, 250.0, np.zeros(5))
    for block in (first, after_gap, new_rate, other_channel):
        recorder.submit_waveform(sid, block)
    assert recorder.flush(5)
    doc = export_session(db, sid, live_session_id=sid)
    got = [(w["channel"], w["t0"], w["fs"], w["samples"]) for w in doc["waveforms"]]
    assert got == [
        ("pleth", T_START, 100.0, [0.1, None, 0.3]),
        ("ecg_ii", T_START, 250.0, [0.0] * 5),
        ("pleth", T_START + 5.0, 100.0, [0.5, 0.6]),
        ("pleth", T_START + 5.02, 50.0, [0.7]),
    ]


def test_events_batched_and_synchronous_are_stored_with_their_data(db, recorder):
    sid = recorder.begin_session(session_info())
    recorder.submit_event(sid, SessionEvent(EventKind.DEVICE_STATUS, T_START + 1, "sim:ox", {"state": "streaming", "detail": ""}))
    recorder.add_event(
        sid,
        SessionEvent(
            EventKind.NOTE, T_START + 2, "user:Nurse", {"text": "patient calm", "level": NoticeLevel.INFO, "x": math.nan}
        ),
    )
    # committed on return, and what was queued before it went first
    assert _rows(db, "SELECT kind, data FROM events ORDER BY id") == [
        ("device_status", json.dumps({"detail": "", "state": "streaming"})),
        ("note", json.dumps({"level": 0, "text": "patient calm", "x": None})),
    ]
    events = export_session(db, sid, live_session_id=sid)["events"]
    assert [(e["kind"], e["source"], e["data"]) for e in events] == [
        ("device_status", "sim:ox", {"detail": "", "state": "streaming"}),
        ("note", "user:Nurse", {"level": 0, "text": "patient calm", "x": None}),
    ]


def test_event_data_json_cannot_hold_fails_in_the_callers_thread(recorder):
    sid = recorder.begin_session(session_info())
    with pytest.raises(TypeError):
        recorder.submit_event(sid, SessionEvent(EventKind.NOTE, T_START, "app", {"oops": object()}))
    assert recorder.running


def test_session_start_dose_and_end_are_committed_when_the_calls_return(db, recorder):
    info = session_info()
    sid = recorder.begin_session(info)
    assert _rows(
        db, "SELECT id, patient_id, protocol, clinician, started_utc, t0_utc, ended_utc, speed, app_version FROM sessions"
    ) == [(sid, "P-0001", "spravato", "Nurse Test", T_START, None, None, 1.0, "test")]
    recorder.update_session(
        SessionInfo(info.patient_id, info.protocol, info.clinician, info.started, t0=T_START + 60, session_id=sid)
    )
    assert _rows(db, "SELECT t0_utc, ended_utc FROM sessions") == [(T_START + 60, None)]
    ended = SessionInfo(info.patient_id, info.protocol, info.clinician, info.started, T_START + 60, T_START + 7200, sid, "ended")
    recorder.update_session(ended)
    assert _rows(db, "SELECT t0_utc, ended_utc, end_reason FROM sessions") == [(T_START + 60, T_START + 7200, "ended")]


def test_speed_of_a_simulated_session_is_stored(db, recorder):
    sid = recorder.begin_session(SessionInfo("SIM-1", DosingProtocol.KETAMINE_IV, "Nurse", T_START, speed=60.0))
    assert _rows(db, f"SELECT speed, protocol FROM sessions WHERE id = {sid}") == [(60.0, "ketamine_iv")]


def test_devices_registered_or_not_each_get_one_row_per_session(db, recorder):
    sid = recorder.begin_session(session_info())
    recorder.register_device(sid, DeviceInfo("sim:ox", "Simulated oximeter", "oximeter", 5.0))
    assert _rows(db, "SELECT session_id, source, label, kind, stale_after_s FROM devices") == [
        (sid, "sim:ox", "Simulated oximeter", "oximeter", 5.0)
    ]
    recorder.submit_readings(sid, [Reading("sim:ox", "spo2", T_START, 97), Reading("serial:ttyUSB0", "hr", T_START, 70)])
    assert recorder.flush(5)
    recorder.register_device(sid, DeviceInfo("serial:ttyUSB0", "Cuff", "nibp", 600.0))  # registered late: row refreshed
    recorder.register_device(sid, DeviceInfo("sim:ox", "Simulated oximeter", "oximeter", 5.0))  # again: no duplicate
    other = recorder.begin_session(session_info("P-0002"))
    recorder.submit_readings(other, [Reading("sim:ox", "spo2", T_START + 9, 96)])
    assert recorder.flush(5)
    assert _rows(db, "SELECT session_id, source, label, kind FROM devices ORDER BY id") == [
        (sid, "sim:ox", "Simulated oximeter", "oximeter"),
        (sid, "serial:ttyUSB0", "Cuff", "nibp"),
        (other, "sim:ox", "sim:ox", "unknown"),
    ]
    assert _rows(db, "SELECT r.session_id, d.source FROM readings r JOIN devices d ON d.id = r.device_id ORDER BY r.id") == [
        (sid, "sim:ox"),
        (sid, "serial:ttyUSB0"),
        (other, "sim:ox"),
    ]


def test_flush_waits_for_everything_queued_from_several_threads(db, recorder):
    sid = recorder.begin_session(session_info())

    def produce(source: str) -> None:
        for k in range(50):
            recorder.submit_readings(sid, [Reading(source, "hr", T_START + k + i / 10, 60 + i) for i in range(10)])

    threads = [threading.Thread(target=produce, args=(f"sim:{n}",), name=f"producer-{n}") for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert recorder.flush(5)
    assert _rows(db, "SELECT count(*) FROM readings") == [(2000,)]
    stats = recorder.stats()
    assert stats.readings_written == 2000 and stats.backlog_readings == 0 and stats.batches >= 1
    assert stats.last_commit_utc is not None and not stats.failing


def test_stop_drains_everything_still_queued(db):
    rec = Recorder(db, commit_interval_s=30.0)  # no timed commit would come before stop()
    rec.start()
    sid = rec.begin_session(session_info())
    rec.submit_readings(sid, [Reading("sim:ox", "spo2", T_START + i, 97) for i in range(100)])
    for block in _blocks(T_START, 100.0, 3, 10):  # an open, unfinished chunk
        rec.submit_waveform(sid, block)
    rec.submit_event(sid, SessionEvent(EventKind.DEVICE_STATUS, T_START, "sim:ox", {"state": "lost"}))
    rec.stop()
    assert not rec.running
    assert _rows(db, "SELECT count(*) FROM readings") == [(100,)]
    assert _rows(db, "SELECT sum(n) FROM waveform_chunks") == [(30,)]
    assert _rows(db, "SELECT count(*) FROM events") == [(1,)]


def test_large_backlog_is_written_in_several_bounded_transactions(db, recorder, monkeypatch):
    monkeypatch.setattr(recorder_module, "MAX_READINGS_PER_TRANSACTION", 100)
    sid = recorder.begin_session(session_info())
    before = recorder.stats().batches
    for k in range(10):
        recorder.submit_readings(sid, [Reading("sim:ox", "spo2", T_START + k * 50 + i, 97) for i in range(50)])
    assert recorder.flush(5)
    assert _rows(db, "SELECT count(*) FROM readings") == [(500,)]
    assert recorder.stats().batches - before >= 5


def test_a_bad_clinician_call_is_raised_to_the_caller_and_recording_goes_on(db, recorder):
    sid = recorder.begin_session(session_info())
    with pytest.raises(LookupError, match="no session 999"):
        recorder.update_session(SessionInfo("P-0001", DosingProtocol.SPRAVATO, "Nurse", T_START, session_id=999))
    with pytest.raises(ValueError, match="session_id"):
        recorder.update_session(session_info())
    recorder.submit_readings(sid, [Reading("sim:ox", "spo2", T_START, 97)])
    assert recorder.flush(5) and recorder.running


def test_clinician_writes_need_a_running_recorder(db):
    rec = Recorder(db)
    with pytest.raises(StorageError, match="recording is not running"):
        rec.begin_session(session_info())
    rec.start()
    rec.stop()
    with pytest.raises(StorageError, match="recording is not running"):
        rec.begin_session(session_info())


def test_database_file_is_the_one_configured(db):
    assert isinstance(db.path, Path) and db.path.name == "session.db"
