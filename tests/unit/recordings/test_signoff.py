"""Sign-off: a signature is bound to the record's hash; any later change shows it as outdated."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from rec_helpers import T_START, session_info
from sqlalchemy import create_engine

from monitor.errors import StorageError
from monitor.events import EventKind, SessionEvent
from monitor.ports import DeviceInfo
from monitor.readings import Reading, WaveformBlock
from recordings import signoff
from recordings.database import alembic_config, open_database
from recordings.recorder import Recorder
from recordings.signoff import SignOffRefused, add_signer, record_hash, sign_session, signature_status

T0 = T_START + 300
PASSWORD = "correct horse battery"
FAST = 1_000  # PBKDF2 iterations for tests; the default is slow on purpose


def _record(recorder: Recorder, *, end: bool = True) -> int:
    info = session_info()
    sid = recorder.begin_session(info)
    recorder.register_device(sid, DeviceInfo("sim:ox", "Simulated oximeter", "oximeter", 5.0))
    recorder.submit_readings(sid, [Reading("sim:ox", "spo2", T_START + 60, 98.0), Reading("sim:ox", "hr", T_START + 60, 72.0)])
    recorder.submit_waveform(sid, WaveformBlock("sim:ox", "pleth", T0, 4.0, np.array([0.1, 0.25, np.nan, 1.0])))
    recorder.update_session(dataclasses.replace(info, t0=T0, session_id=sid))
    recorder.add_event(sid, SessionEvent(EventKind.DOSE_GIVEN, T0, "user:Nurse Test", {"sets_t0": True, "dose_mg": 56}))
    recorder.add_event(sid, SessionEvent(EventKind.OBSERVATION, T0 + 600, "user:Nurse Test", {"id": "obs-1", "moaas": 4}))
    if end:
        recorder.update_session(dataclasses.replace(info, t0=T0, ended=T_START + 3600, end_reason="ended", session_id=sid))
    assert recorder.flush(5)
    return sid


@pytest.fixture
def recorded(recorder) -> int:
    return _record(recorder)


@pytest.fixture
def signer(db) -> str:
    add_signer(db, "dr.lee", "Dr Ada Lee", PASSWORD, iterations=FAST)
    return "dr.lee"


def test_signed_session_is_valid_and_shows_name_time_and_meaning(db, recorded, signer):
    sig = sign_session(db, recorded, signer, PASSWORD, "reviewed")
    assert sig.valid and sig.signer_name == "Dr Ada Lee" and sig.meaning == "reviewed"
    [status] = signature_status(db, recorded)
    assert status.valid and status.state == "valid" and status.record_hash == sig.record_hash == record_hash(db, recorded)
    assert "Dr Ada Lee" in status.line() and "reviewed" in status.line() and "UTC" in status.line()


def test_the_hash_is_stable_and_covers_every_part_of_the_record(db, recorded):
    first = record_hash(db, recorded)
    assert record_hash(db, recorded) == first
    with db.engine.connect() as conn:
        lines = list(signoff.canonical_record(conn, recorded))
    kinds = [next(iter(json.loads(line))) for line in lines]
    assert kinds[:3] == ["format", "session", "device"]
    assert kinds.count("r") == 2 and kinds.count("w") == 1 and kinds.count("e") == 2


def test_a_later_amendment_makes_the_signature_outdated(db, recorder, recorded, signer):
    sign_session(db, recorded, signer, PASSWORD, "reviewed")
    recorder.add_event(
        recorded,
        SessionEvent(EventKind.AMENDMENT, T0 + 900, "user:Nurse Test", {"amends": "obs-1", "moaas": 3, "reason": "typo"}),
    )
    [status] = signature_status(db, recorded)
    assert not status.valid and status.state == "outdated" and "OUTDATED" in status.line()
    again = sign_session(db, recorded, signer, PASSWORD, "approved")  # re-signing adds a row; the old one stays
    assert [s.valid for s in signature_status(db, recorded)] == [False, True] and again.meaning == "approved"


def test_a_changed_reading_value_makes_the_signature_outdated(db, recorded, signer, db_url):
    sign_session(db, recorded, signer, PASSWORD, "reviewed")
    con = sqlite3.connect(Path(db.path))
    with con:
        con.execute("UPDATE readings SET value = 97.0 WHERE channel = 'spo2'")
    con.close()
    assert [s.valid for s in signature_status(db, recorded)] == [False]


@pytest.mark.parametrize(("login", "password"), [("dr.lee", "wrong password"), ("nobody", PASSWORD)])
def test_wrong_credentials_are_refused_and_nothing_is_stored(db, recorded, signer, login, password, monkeypatch):
    monkeypatch.setattr(signoff, "DEFAULT_PBKDF2_ITERATIONS", FAST)
    with pytest.raises(SignOffRefused, match="unknown signer ID or wrong password"):
        sign_session(db, recorded, login, password, "reviewed")
    assert signature_status(db, recorded) == []


def test_unknown_session_unknown_meaning_and_running_session_are_refused(db, recorder, recorded, signer):
    with pytest.raises(SignOffRefused, match=f"no session {recorded + 50} .*sessions {recorded}-{recorded}"):
        sign_session(db, recorded + 50, signer, PASSWORD, "reviewed")
    with pytest.raises(SignOffRefused, match="not one of"):
        sign_session(db, recorded, signer, PASSWORD, "glanced at")
    running = _record(recorder, end=False)
    with pytest.raises(SignOffRefused, match="has no end: it is still being recorded, or it was cut short by a crash"):
        sign_session(db, running, signer, PASSWORD, "reviewed")
    assert signature_status(db, running) == []


def test_an_interrupted_session_is_signed_only_when_the_signer_confirms_it(db, recorder, signer):
    interrupted = _record(recorder, end=False)
    sig = sign_session(db, interrupted, signer, PASSWORD, "reviewed", interrupted_ok=True)
    assert sig.valid and [s.valid for s in signature_status(db, interrupted)] == [True]
    # were it still being recorded after all, its next reading outdates the signature
    recorder.submit_readings(interrupted, [Reading("sim:ox", "spo2", T_START + 999.0, 97.0)])
    recorder.flush()
    assert [s.valid for s in signature_status(db, interrupted)] == [False]


def test_enrolment_refuses_duplicates_and_short_passwords(db, signer):
    with pytest.raises(SignOffRefused, match="already enrolled"):
        add_signer(db, "dr.lee", "Someone Else", "another password", iterations=FAST)
    with pytest.raises(SignOffRefused, match="at least 8"):
        add_signer(db, "dr.kim", "Dr Kim", "short", iterations=FAST)
    with sqlite3.connect(Path(db.path)) as con:
        salt, stored = con.execute("SELECT salt, password_hash FROM signers WHERE login = 'dr.lee'").fetchone()
    assert PASSWORD.encode() not in stored and len(salt) == 16


def test_upgrade_from_0001_keeps_the_recorded_data(db_url):
    """A database made by the 0001 schema gets the signature tables and keeps its sessions and readings."""
    engine = create_engine(db_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO sessions (id, patient_id, protocol, clinician, started_utc, t0_utc, ended_utc, end_reason, speed, "
            f"app_version, created_utc) VALUES (1, 'P-7', 'spravato', 'N', {T_START}, {T0}, {T_START + 3600}, 'ended', 1.0, "
            f"'old', {T_START})"
        )
        conn.exec_driver_sql(
            "INSERT INTO devices (id, session_id, source, label, kind, stale_after_s) VALUES (1, 1, 's', 'S', 'oximeter', 5)"
        )
        conn.exec_driver_sql(
            "INSERT INTO readings (session_id, device_id, channel, t_utc, value, quality, flags) "
            f"VALUES (1, 1, 'spo2', {T0}, 96.0, 0, 0)"
        )
    engine.dispose()
    with open_database(db_url) as db:
        assert db.revision == "0002" and db.backup is not None
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT patient_id FROM sessions").all() == [("P-7",)]
            assert conn.exec_driver_sql("SELECT value FROM readings").all() == [(96.0,)]
        add_signer(db, "dr.lee", "Dr Ada Lee", PASSWORD, iterations=FAST)
        assert sign_session(db, 1, "dr.lee", PASSWORD, "reviewed").valid
        assert [s.valid for s in signature_status(db, 1)] == [True]


def test_a_locked_database_gives_a_clear_message_and_no_signature(db, recorded, signer):
    other = sqlite3.connect(Path(db.path), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageError, match="locked by another program"):
            sign_session(db, recorded, signer, PASSWORD, "reviewed")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert signature_status(db, recorded) == []
