"""When the database fails the recorder keeps everything, retries, and says so; a bug is not swallowed."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import numpy as np
import pytest
from rec_helpers import T_START, session_info
from sqlalchemy import exc as sa_exc

from monitor.clock import FakeClock
from monitor.errors import StorageError
from monitor.events import EventKind, NoticeLevel, SessionEvent
from monitor.readings import Reading, WaveformBlock
from recordings.journal import Journal
from recordings.recorder import BACKLOG_NOTICE_KEY, NOTICE_KEY, Recorder


def _count(db, table: str) -> int:
    con = sqlite3.connect(db.path)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def _readings(source: str, start: int, n: int) -> list[Reading]:
    return [Reading(source, "spo2", T_START + start + i, 90 + i % 10) for i in range(n)]


class ExclusiveLock:
    """Another program holding the write lock (raw sqlite3, BEGIN EXCLUSIVE) until released."""

    def __init__(self, path) -> None:
        self._con = sqlite3.connect(path, isolation_level=None)
        self._con.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        if self._con is not None:
            self._con.execute("ROLLBACK")
            self._con.close()
            self._con = None


@pytest.fixture
def locked(db):
    holders = []

    def lock():
        holders.append(ExclusiveLock(db.path))
        return holders[-1]

    yield lock
    for holder in holders:
        holder.release()


def test_locked_database_is_announced_retried_and_nothing_is_lost(db, notices, locked):
    clock = FakeClock(start=T_START + 500)
    rec = Recorder(db, notices, commit_interval_s=0.05, clock=clock)
    rec.start()
    try:
        sid = rec.begin_session(session_info())
        rec.submit_readings(sid, _readings("sim:ox", 0, 10))
        assert rec.flush(5)

        lock = locked()
        rec.submit_readings(sid, _readings("sim:ox", 10, 10))
        rec.submit_readings(sid, _readings("sim:new", 10, 5))  # a device first seen while failing
        rec.submit_waveform(sid, WaveformBlock("sim:ox", "pleth", T_START + 10, 100.0, np.zeros(40)))
        rec.submit_event(sid, SessionEvent(EventKind.DEVICE_STATUS, T_START + 11, "sim:ox", {"state": "streaming"}))
        notice = notices.wait_for(lambda n: n.key == NOTICE_KEY and n.active)
        assert notice.level is NoticeLevel.CRITICAL and notice.t == T_START + 500
        assert notice.message == (
            "Recording is failing: the database is locked by another program — readings are kept in memory and retried; "
            "free disk space / check the database"
        )
        assert not rec.flush(0.3)
        with pytest.raises(StorageError, match=r"Could not save the note event to .*locked by another program"):
            rec.add_event(sid, SessionEvent(EventKind.NOTE, T_START + 12, "user:Nurse", {"text": "x"}))
        stats = rec.stats()
        assert stats.failing and stats.write_failures >= 1 and stats.backlog_readings == 15 and stats.backlog_samples == 40
        assert _count(db, "readings") == 10

        lock.release()
        assert rec.flush(10)
        assert _count(db, "readings") == 25 and _count(db, "waveform_chunks") == 1 and _count(db, "events") == 1
        cleared = notices.wait_for(lambda n: n.key == NOTICE_KEY and not n.active)
        assert cleared.level is NoticeLevel.INFO
        assert len(notices.with_key(NOTICE_KEY)) == 2  # one "failing" (not one per retry), one "works again"
        assert not rec.stats().failing
    finally:
        rec.stop()


def test_disk_full_mid_transaction_is_retried_without_duplicates(db, notices, monkeypatch):
    failures = {"left": 2}
    real_insert = Recorder._insert_readings

    def fill_the_disk(self, s, batches, new_devices):
        real_insert(self, s, batches, new_devices)  # rows and a new device row are written, then the commit fails
        if batches and failures["left"]:
            failures["left"] -= 1
            raise sa_exc.OperationalError("INSERT INTO readings", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(Recorder, "_insert_readings", fill_the_disk)
    rec = Recorder(db, notices, commit_interval_s=0.05)
    rec.start()
    try:
        sid = rec.begin_session(session_info())
        rec.submit_readings(sid, _readings("sim:unregistered", 0, 30))
        assert rec.flush(10)
    finally:
        rec.stop()
    assert failures["left"] == 0
    assert _count(db, "readings") == 30 and _count(db, "devices") == 1
    failing = notices.with_key(NOTICE_KEY)[0]
    assert failing.active and failing.message.startswith("Recording is failing: the disk is full — ")


def test_backlog_over_the_limit_is_announced_never_dropped(db, notices, locked):
    rec = Recorder(db, notices, commit_interval_s=0.05, backlog_limit=20)
    rec.start()
    try:
        sid = rec.begin_session(session_info())
        lock = locked()
        for k in range(5):
            rec.submit_readings(sid, _readings("sim:ox", 10 * k, 10))
        degraded = notices.wait_for(lambda n: n.key == BACKLOG_NOTICE_KEY and n.active)
        assert degraded.level is NoticeLevel.CRITICAL and degraded.message.startswith("Recording degraded: ")
        lock.release()
        assert rec.flush(10)
        notices.wait_for(lambda n: n.key == BACKLOG_NOTICE_KEY and not n.active)
    finally:
        rec.stop()
    assert _count(db, "readings") == 50


def test_a_bug_in_the_writer_is_announced_and_reaches_threading_excepthook(db, notices, monkeypatch):
    seen = []
    monkeypatch.setattr(threading, "excepthook", seen.append)
    rec = Recorder(db, notices, commit_interval_s=0.05)
    rec.start()
    rec.submit_readings(999, _readings("sim:ox", 0, 3))  # no session 999: a foreign-key violation is a bug
    notice = notices.wait_for(lambda n: n.key == NOTICE_KEY and "internal error" in n.message)
    assert notice.level is NoticeLevel.CRITICAL
    deadline = time.monotonic() + 5
    while rec.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not rec.running
    assert len(seen) == 1 and seen[0].thread.name == "recorder" and isinstance(seen[0].exc_value, sa_exc.IntegrityError)
    with pytest.raises(StorageError, match="recording is not running"):
        rec.begin_session(session_info())
    rec.stop()


def test_clinician_write_that_times_out_is_not_written_late(db, recorder):
    inside = threading.Event()

    def slow_write(_session) -> None:
        inside.set()
        time.sleep(0.6)

    busy = threading.Thread(target=recorder._call, args=(slow_write, "a slow write"), name="slow-writer")
    busy.start()
    assert inside.wait(5)  # the writer thread is now busy
    recorder._sync_timeout_s = 0.2
    try:
        with pytest.raises(StorageError, match="did not answer within"):
            recorder.begin_session(session_info())
    finally:
        busy.join()
    assert recorder.flush(5)
    assert _count(db, "sessions") == 0


def test_stop_while_the_database_stays_locked_gives_up_in_time_and_saves_to_the_journal(db, locked, tmp_path):
    """Issue 13 finding 4: what is held in memory at exit goes to the emergency journal, and the exit says so."""
    journal = Journal(db.name, [tmp_path / "journal"])
    rec = Recorder(db, commit_interval_s=0.05, journal=journal)
    rec.start()
    sid = rec.begin_session(session_info())
    locked()
    rec.submit_readings(sid, _readings("sim:ox", 0, 7))
    started = time.monotonic()
    rec.stop(timeout_s=1.0)
    assert time.monotonic() - started < 1.5
    assert not rec.running
    assert journal.path is not None and journal.readings == 7
    assert rec.exit_message is not None and "7 readings" in rec.exit_message and str(journal.path) in rec.exit_message


def test_stop_with_neither_database_nor_journal_writable_says_what_was_lost(db, locked, tmp_path, caplog):
    (tmp_path / "a-file").write_text("")
    journal = Journal(db.name, [tmp_path / "a-file" / "journal"])  # cannot be a folder, even for root
    rec = Recorder(db, commit_interval_s=0.05, journal=journal)
    rec.start()
    sid = rec.begin_session(session_info())
    locked()
    rec.submit_readings(sid, _readings("sim:ox", 0, 7))
    with caplog.at_level(logging.ERROR, logger="recordings.recorder"):
        rec.stop(timeout_s=1.0)
    assert any("7 readings" in r.getMessage() and "NOT saved" in r.getMessage() for r in caplog.records)
    assert rec.exit_message is not None and "7 readings and 0 samples could not be saved anywhere" in rec.exit_message
