"""The emergency journal: written by the recorder, imported back idempotently, robust to a cut last line."""

from __future__ import annotations

import sqlite3

from rec_helpers import T_START, session_info

from monitor.readings import Reading
from recordings.journal import Journal, recover
from recordings.recorder import Recorder


def _count(path, table: str) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def _journal_of_7_readings(db, tmp_path) -> Journal:
    journal = Journal(db.name, [tmp_path / "journal"])
    rec = Recorder(db, commit_interval_s=0.05, journal=journal)
    rec.start()
    sid = rec.begin_session(session_info())
    rec._lost = "test: the file is gone"  # what _check_file sets; from now on everything is journalled
    rec.submit_readings(sid, [Reading("sim:ox", "spo2", T_START + i, 90.0 + i) for i in range(7)])
    rec.stop(timeout_s=5)
    return journal


def test_recovering_twice_adds_nothing_the_second_time(db, tmp_path):
    journal = _journal_of_7_readings(db, tmp_path)
    assert journal.path is not None and journal.readings == 7
    first = recover(db, journal.path)
    second = recover(db, journal.path)
    assert (first.readings, second.readings, second.skipped_duplicates) == (7, 0, 7)
    assert _count(db.path, "readings") == 7 and _count(db.path, "sessions") == 1


def test_a_last_line_cut_short_by_power_loss_is_skipped_and_counted(db, tmp_path):
    journal = _journal_of_7_readings(db, tmp_path)
    assert journal.path is not None
    with journal.path.open("a", encoding="utf-8") as f:
        f.write('{"type":"readings","sid":1,"rows":[["sim:ox","spo2",')
    counts = recover(db, journal.path)
    assert counts.readings == 7 and counts.bad_lines == 1
