"""Review speed: opening a 4-hour session to the first complete paint, and the browser on 10,000 sessions.

A 4-hour session (HR, PR, SpO2, RR at 1 Hz, NIBP every 5 min, a 75 Hz pleth in 1 s blocks = 1.08
million samples, alarm events and observations) is written into a temporary SQLite file through the
real ``Recorder``. Then, repeated and medians taken:

- open = ``ReviewWindow(reader, id)`` + ``show()`` + ``grab()`` (``grab`` paints the whole widget tree
  synchronously, so this is the first complete paint: every plot row including the 1.1 million
  pleth samples, the alarm and observation lanes, the side panel);
- summary = from the same start until the side panel shows the summary (computed on a worker
  thread after the first paint, with the signature check);
- plain SQL = ``sqlite3`` fetching the same rows (numerics, events and every pleth sample) into
  numpy arrays, in the same run: the reference of the 2x target; and, for information, the
  numerics and events alone;
- browser = ``SessionBrowser(reader)`` + show + grab on a database of 10,000 sessions (inserted in
  bulk; 5 % of them with a high-priority alarm), unfiltered and with "had high-priority alarms".

Run:  python -m bench.bench_review [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QWidget

from app import gui_gc
from bench.report import median, verdict
from monitor.events import EventKind, SessionEvent
from monitor.ports import DeviceInfo
from monitor.readings import Reading, WaveformBlock
from monitor.session import DosingProtocol, SessionInfo
from recordings.database import open_database
from recordings.models import events_table, sessions_table
from recordings.reader import RecordingReader
from recordings.recorder import Recorder
from ui.review_window import ReviewWindow
from ui.session_browser import SessionBrowser

T_START = 1_800_000_000.0
HOURS = 4
FS = 75.0
OPEN_TARGET_S = 1.0
OPEN_TARGET_RATIO = 2.0
BROWSER_TARGET_S = 0.5
N_SESSIONS = 10_000


def record_long_session(url: str) -> int:
    """Write the 4-hour session through the Recorder; returns its id."""
    rng = np.random.default_rng(11)
    db = open_database(url)
    rec = Recorder(db)
    rec.start()
    try:
        t0 = T_START + 15 * 60
        sid = rec.begin_session(SessionInfo("BENCH-1", DosingProtocol.SPRAVATO, "Bench", T_START, t0=t0))
        for src, kind in (("sim:monitor", "monitor"), ("sim:oximeter", "oximeter"), ("sim:nibp", "nibp")):
            rec.register_device(sid, DeviceInfo(src, src, kind, 10.0))
        seconds = HOURS * 3600
        phase = 0.0
        for i in range(seconds):
            t = T_START + i
            out = [
                Reading("sim:monitor", "hr", t, 76 + rng.normal(0, 2)),
                Reading("sim:oximeter", "pr", t, 76 + rng.normal(0, 2)),
                Reading("sim:oximeter", "spo2", t, 97 + rng.normal(0, 0.5)),
                Reading("sim:monitor", "rr", t, 14 + rng.normal(0, 1)),
            ]
            if i % 300 == 0:
                s, d = 130 + rng.normal(0, 8), 82 + rng.normal(0, 5)
                out += [
                    Reading("sim:nibp", "nibp_sys", t, s),
                    Reading("sim:nibp", "nibp_dia", t, d),
                    Reading("sim:nibp", "nibp_map", t, (s + 2 * d) / 3),
                ]
            rec.submit_readings(sid, out)
            ph = phase + 2 * np.pi * 1.2 * np.arange(int(FS)) / FS
            phase = float(ph[-1] + 2 * np.pi * 1.2 / FS)
            rec.submit_waveform(sid, WaveformBlock("sim:oximeter", "pleth", t, FS, 0.5 + 0.35 * np.sin(ph) ** 3))
            if i % 1800 == 900:
                alarm = {
                    "key": "sbp_high",
                    "priority": "MEDIUM",
                    "category": "physiological",
                    "message": "SBP high",
                    "value": 170.0,
                    "limit": 160.0,
                    "user": None,
                }
                rec.submit_event(sid, SessionEvent(EventKind.ALARM, t, "app", {**alarm, "transition": "raised"}))
                rec.submit_event(sid, SessionEvent(EventKind.ALARM, t + 120, "app", {**alarm, "transition": "cleared"}))
            if i % 600 == 0:
                rec.flush(60.0)
        rec.update_session(SessionInfo("BENCH-1", DosingProtocol.SPRAVATO, "Bench", T_START, t0, T_START + seconds, sid, "ended"))
        rec.flush(60.0)
        return sid
    finally:
        rec.stop(60.0)
        db.close()


def plain_sql(path: Path, sid: int, with_pleth: bool) -> float:
    """Seconds to fetch the numerics and events (and optionally the pleth) with sqlite3 into numpy."""
    start = time.perf_counter()
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT channel, t_utc, value FROM readings WHERE session_id=? ORDER BY channel, t_utc", (sid,)
        ).fetchall()
        arrays: dict[str, list[tuple[float, float]]] = {}
        for ch, t, v in rows:
            arrays.setdefault(ch, []).append((t, np.nan if v is None else v))
        _ = {ch: np.array(a, dtype=np.float64) for ch, a in arrays.items()}
        _ev = con.execute("SELECT kind, t_utc, source, data FROM events WHERE session_id=? ORDER BY t_utc", (sid,)).fetchall()
        if with_pleth:
            blobs = con.execute(
                "SELECT data, dtype FROM waveform_chunks WHERE session_id=? AND channel='pleth' ORDER BY t0_utc", (sid,)
            ).fetchall()
            _p = np.concatenate([np.frombuffer(b, dtype=d) for b, d in blobs]).astype(np.float64)
    finally:
        con.close()
    return time.perf_counter() - start


def open_review(qt: QApplication, reader: RecordingReader, sid: int) -> tuple[float, float]:
    """Seconds to the first complete paint, and to the summary shown."""
    start = time.perf_counter()
    w = ReviewWindow(reader, sid)
    w.resize(1400, 900)
    w.show()
    w.grab()
    painted = time.perf_counter() - start
    while w.summary is None:
        qt.processEvents()
        time.sleep(0.002)
    summarized = time.perf_counter() - start
    _dispose(qt, w)
    return painted, summarized


def _dispose(qt: QApplication, w: QWidget) -> None:
    """Really delete a closed window (deleteLater needs its event) and collect garbage, so the next
    measurement (the plain-SQL reference too) does not pay for this one's leftovers."""
    w.close()
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qt.processEvents()
    gc.collect()


def fill_sessions(url: str, n: int) -> None:
    """``n`` finished sessions in bulk (plus one HIGH alarm in every 20th), straight into the tables."""
    db = open_database(url)
    try:
        protocols = [p.value for p in DosingProtocol]
        rows = [
            {
                "patient_id": f"P{i % 800:04d}",
                "protocol": protocols[i % len(protocols)],
                "clinician": "Bench",
                "started_utc": T_START + i * 3600.0,
                "t0_utc": T_START + i * 3600.0 + 900,
                "ended_utc": T_START + i * 3600.0 + 7200,
                "end_reason": "ended",
                "speed": 1.0,
                "app_version": "bench",
                "created_utc": T_START + i * 3600.0,
            }
            for i in range(n)
        ]
        with db.sessions() as s:
            s.execute(sessions_table.insert(), rows)
            ids = [r[0] for r in s.execute(sessions_table.select().with_only_columns(sessions_table.c.id))]
            data = '{"category": "physiological", "key": "spo2_low", "limit": 90.0, "message": "SpO2 low", "priority": "HIGH", "transition": "raised", "user": null, "value": 88.0}'
            s.execute(
                events_table.insert(),
                [
                    {"session_id": sid, "t_utc": T_START, "kind": "alarm", "source": "app", "data": data, "recorded_utc": T_START}
                    for sid in ids[::20]
                ],
            )
            s.commit()
    finally:
        db.close()


def open_browser(qt: QApplication, reader: RecordingReader, high_only: bool) -> tuple[float, int]:
    start = time.perf_counter()
    b = SessionBrowser(reader)
    if high_only:
        b.high_only.setChecked(True)
    b.resize(1100, 700)
    b.show()
    b.grab()
    elapsed = time.perf_counter() - start
    total = b.model.total
    _dispose(qt, b)
    return elapsed, total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    gui_gc.install()  # as the program does: cyclic garbage collected on the GUI thread only
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "review.db"
        url = f"sqlite:///{path}"
        t = time.perf_counter()
        sid = record_long_session(url)
        print(f"recorded a {HOURS} h session through the Recorder in {time.perf_counter() - t:.1f} s")
        db = open_database(url)
        try:
            reader = RecordingReader(db)
            n_samples = sum(b.n for b in reader.waveforms(sid, ["pleth"]))
            print(f"session {sid}: {len(reader.readings(sid))} numeric readings, {n_samples} pleth samples")
            open_review(qt, reader, sid)  # warm-up: imports, fonts, templates
            opens, summaries, sql, sql_pleth = [], [], [], []
            for _ in range(args.repeat):
                sql.append(plain_sql(path, sid, with_pleth=False))
                painted, summarized = open_review(qt, reader, sid)
                opens.append(painted)
                summaries.append(summarized)
                sql_pleth.append(plain_sql(path, sid, with_pleth=True))
            m_open, m_sum, m_sql, m_sqlp = median(opens), median(summaries), median(sql), median(sql_pleth)
            print(
                f"open to first complete paint: median {m_open * 1000:.0f} ms (target <= {OPEN_TARGET_S * 1000:.0f} ms) {verdict(m_open <= OPEN_TARGET_S)}"
            )
            print(
                f"plain SQL, same rows (numerics + events + every pleth sample): median {m_sqlp * 1000:.0f} ms; "
                f"ratio {m_open / m_sqlp:.1f}x (target <= {OPEN_TARGET_RATIO:g}x) {verdict(m_open <= OPEN_TARGET_RATIO * m_sqlp)}"
            )
            print(f"plain SQL, numerics + events only: median {m_sql * 1000:.0f} ms (information)")
            print(f"summary panel filled (worker thread, after the first paint): median {m_sum * 1000:.0f} ms from the start")
        finally:
            db.close()
        bpath = Path(tmp) / "browser.db"
        burl = f"sqlite:///{bpath}"
        fill_sessions(burl, N_SESSIONS)
        db = open_database(burl)
        try:
            reader = RecordingReader(db)
            open_browser(qt, reader, False)
            for high in (False, True):
                runs = [open_browser(qt, reader, high) for _ in range(args.repeat)]
                m = median([r[0] for r in runs])
                what = "had high-priority alarms" if high else "unfiltered"
                print(
                    f"browser, {N_SESSIONS} sessions, {what} ({runs[0][1]} match): median {m * 1000:.0f} ms "
                    f"(target <= {BROWSER_TARGET_S * 1000:.0f} ms) {verdict(m <= BROWSER_TARGET_S)}"
                )
        finally:
            db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
