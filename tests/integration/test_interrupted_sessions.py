"""Issue 13, finding 6: after a SIGKILL (or power loss) the next start says which session did not
end, on stderr and on the dashboard, and closes it with end reason ``interrupted`` at the time of
its last reading."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.events import NoticeLevel, TechnicalNotice

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.posix]
ENV = dict(os.environ, QT_QPA_PLATFORM="offscreen")


def _readings(path: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM readings").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _killed_session(db: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--demo", "baseline", "--speed", "10", "--db", f"sqlite:///{db}"],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _readings(db) < 20:
            assert proc.poll() is None, "the demo stopped by itself"
            assert time.monotonic() < deadline, "nothing recorded within 60 s"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def test_next_start_reports_and_closes_the_session_a_sigkill_left_open(tmp_path):
    db = tmp_path / "sessions.db"
    _killed_session(db)
    con = sqlite3.connect(db)
    before = con.execute("SELECT ended_utc, end_reason FROM sessions WHERE id = 1").fetchone()
    last_reading = con.execute("SELECT max(t_utc) FROM readings WHERE session_id = 1").fetchone()[0]
    con.close()
    assert before == (None, None)

    args = ["--demo", "baseline", "--speed", "600", "--minutes", "0.2", "--db", f"sqlite:///{db}"]
    p = subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    line = re.compile(
        r"^session-monitor: Session 1 \(patient SIM-baseline, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\) did not end — "
        r"the program stopped at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(last reading \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\. "
        r"Marked interrupted\.$",
        re.M,
    )
    found = line.findall(p.stderr)
    assert len(found) == 1, p.stderr
    message = found[0].removeprefix("session-monitor: ")

    con = sqlite3.connect(db)
    try:
        ended, reason = con.execute("SELECT ended_utc, end_reason FROM sessions WHERE id = 1").fetchone()
        # the dashboard's banner: the notice went through the core, which recorded it in the new session
        notices = [
            json.loads(d)
            for (d,) in con.execute("SELECT data FROM events WHERE session_id = 2 AND kind = 'technical_notice'").fetchall()
        ]
        end_events = con.execute("SELECT t_utc, data FROM events WHERE session_id = 1 AND kind = 'session_ended'").fetchall()
        second = con.execute("SELECT end_reason FROM sessions WHERE id = 2").fetchone()[0]
    finally:
        con.close()
    assert reason == "interrupted" and ended == last_reading
    assert len(end_events) == 1 and end_events[0][0] == last_reading
    assert json.loads(end_events[0][1])["reason"] == "interrupted"
    shown = [n for n in notices if n["key"] == "app.interrupted-session:1"]
    assert len(shown) == 1 and shown[0]["message"] == message and shown[0]["active"]
    assert second != "interrupted"  # the second run ended its own session normally


def test_the_interrupted_session_notice_is_shown_in_the_dashboard_banner(qtbot):
    """The notice's key is not one the alarm bar takes over, so the banner shows it."""
    from monitor.clock import FakeClock
    from monitor.core import Core
    from ui.core_adapter import CoreAdapter
    from ui.main_window import MainWindow

    clock = FakeClock()
    core = Core(clock, None)
    window = MainWindow(core, clock, CoreAdapter.for_core(core))
    qtbot.addWidget(window)
    text = "Session 7 (patient PT-1, started …) did not end — … Marked interrupted."
    window.on_event_received(TechnicalNotice("app.interrupted-session:7", text, NoticeLevel.WARNING, clock.now()))
    assert any(shown.endswith(text) for shown in window.banner.texts()), window.banner.texts()
    window.sounder.close()
