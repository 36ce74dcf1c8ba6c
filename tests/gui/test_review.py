"""The session browser and the review window on recorded sessions (a simulated one through the real
pipeline, and a synthetic one with known values through the real Recorder)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.review_cmd import build_review
from monitor.ports import SessionFilter
from recordings.database import open_database
from recordings.reader import RecordingReader
from tests.gui.review_fixtures import record_session, record_synthetic
from ui.review_window import ReviewWindow
from ui.session_browser import SessionBrowser

T_START = 1_800_000_000.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Session 1: simulated hypertensive responder; session 2: synthetic with known values."""
    url = f"sqlite:///{tmp_path_factory.mktemp('review') / 'review.db'}"
    record_session(url, "SIM-REV-1")
    record_synthetic(url, "SYN-2")
    return url


@pytest.fixture
def reader(recorded):
    db = open_database(recorded)
    yield RecordingReader(db)
    db.close()


def _window(qtbot, reader, sid):
    w = ReviewWindow(reader, sid)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_reader_lists_and_filters_in_sql(reader):
    assert reader.count_sessions(SessionFilter()) == 2
    assert [s.info.session_id for s in reader.find_sessions(SessionFilter(), 0, 10)] == [2, 1]
    assert [s.info.patient_id for s in reader.find_sessions(SessionFilter(patient_id="SIM-*"), 0, 10)] == ["SIM-REV-1"]
    high = reader.find_sessions(SessionFilter(high_alarms_only=True), 0, 10)
    assert [(s.info.session_id, s.had_high_alarm) for s in high] == [(2, True)]
    assert reader.find_sessions(SessionFilter(), 1, 10)[0].info.session_id == 1


def test_simulated_session_lanes_and_plots_have_data(qtbot, reader):
    w = _window(qtbot, reader, 1)
    assert set(w.plots) == {"hr", "bp", "spo2", "rr", "pleth", "alarms", "observations"}
    for code in ("pr", "spo2", "rr", "nibp_sys", "nibp_dia"):
        x, y = w.curves[code].getData()
        assert x is not None and np.isfinite(y).sum() > 0, code
    # hypertensive responder: the SBP/DBP high alarms are in the lane, medium priority
    assert {a.key for a in w.alarms} >= {"sbp_high"}
    assert "medium" in w.alarm_bars
    assert w.info.t0 is not None and w.checkpoints


def test_zoom_changes_the_linked_x_range(qtbot, reader):
    w = _window(qtbot, reader, 1)
    lo, hi = w.x_range()
    w.zoom(0.5)
    lo2, hi2 = w.x_range()
    assert hi2 - lo2 == pytest.approx((hi - lo) / 2, rel=1e-3)
    for name in ("bp", "spo2", "alarms", "observations"):
        assert w.plots[name].viewRange()[0] == pytest.approx([lo2, hi2], rel=1e-3, abs=1e-3)


def test_crosshair_at_a_cuff_reading_shows_its_value(qtbot, reader):
    w = _window(qtbot, reader, 1)
    ts, vs = w.series["nibp_sys"]
    _, ds = w.series["nibp_dia"]
    x = (ts[3] - w.origin) / 60.0
    values = w.set_crosshair(x)
    assert values["nibp_sys"] == vs[3] and values["nibp_dia"] == ds[3]
    assert f"NIBP {vs[3]:.0f}/{ds[3]:.0f}" in w.readout.text()
    assert all(line.value() == pytest.approx(x) for line in w.crosshairs)


def test_synthetic_known_values_gaps_alarm_and_observation(qtbot, reader):
    w = _window(qtbot, reader, 2)
    assert w.origin == T_START + 60
    # the INVALID stretch (minutes 5-6 after start) stays NaN, in the data and in the curve
    t, v = w.series["hr"]
    assert np.isnan(v[(t >= T_START + 300) & (t < T_START + 360)]).all()
    cx, cy = w.curves["hr"].getData()
    inside = (cx >= 4.0) & (cx < 5.0)
    assert inside.any() and np.isnan(cy[inside]).all()
    assert math.isnan(w.set_crosshair(4.5)["hr"])
    assert w.set_crosshair(8.0)["hr"] == 70.0
    # the cuff reading 150/95 at minute 10 from start, read 2 min later (held)
    values = w.set_crosshair((T_START + 600.5 - w.origin) / 60.0)
    assert (values["nibp_sys"], values["nibp_dia"]) == (150.0, 95.0)
    assert w.set_crosshair(10.5)["nibp_sys"] == 150.0
    [alarm] = w.alarms
    assert (alarm.priority.name, alarm.start, alarm.end) == ("HIGH", T_START + 480, T_START + 540)
    assert "high" in w.alarm_bars
    assert [m.text for m in w.marks] == ["MOAA/S 4"]
    assert w.obs_texts[0].pos().x() == pytest.approx(2.0)


def test_clock_time_toggle_and_range_selection(qtbot, reader):
    w = _window(qtbot, reader, 2)
    axis = w.axes[-1]
    assert axis.tickStrings([0.0], 1, 1) == ["0"]
    w.clock_button.setChecked(True)
    assert ":" in axis.tickStrings([0.0], 1, 1)[0]
    with qtbot.waitSignal(w.range_selected) as sig:
        w.select_button.setChecked(True)
    a, b = sig.args
    assert T_START <= a < b <= T_START + 20 * 60
    assert w.selected_range() == pytest.approx((a, b))


def test_browser_lists_filters_and_opens(qtbot, reader):
    b = SessionBrowser(reader)
    qtbot.addWidget(b)
    b.show()
    assert b.model.rowCount() == 2 and b.model.total == 2
    b.patient.setText("SYN-2")
    b.refresh()
    assert b.model.rowCount() == 1 and b.model.data(b.model.index(0, 1)) == "SYN-2"
    b.patient.setText("")
    b.high_only.setChecked(True)
    assert b.model.rowCount() == 1 and b.model.listing(0).info.session_id == 2
    b.high_only.setChecked(False)
    assert b.model.rowCount() == 2
    with qtbot.waitSignal(b.open_session) as sig:
        b.table.setCurrentIndex(b.model.index(1, 0))
        qtbot.keyClick(b.table, Qt.Key.Key_Return)
    assert sig.args == [1]


def test_review_command_opens_browser_then_a_session(qtbot, reader):
    first, opened = build_review(reader, None)
    qtbot.addWidget(first)
    first.open_session.emit(2)
    assert len(opened) == 1 and opened[0].info.session_id == 2
    for w in opened:
        qtbot.addWidget(w)
    direct, _ = build_review(reader, "latest")
    qtbot.addWidget(direct)
    assert isinstance(direct, ReviewWindow) and direct.info.session_id == 2


def test_review_command_names_a_missing_session_clearly(recorded, capsys):
    from app.cli import main

    assert main(["review", "--db", recorded, "--session", "99"]) == 1
    err = capsys.readouterr().err
    assert "no session 99" in err and "sessions 1-2" in err


class _ManySessions:
    """A SessionReader stand-in with ``n`` sessions, counting the rows it was asked for."""

    def __init__(self, n):
        from monitor.ports import SessionListing
        from monitor.session import DosingProtocol, SessionInfo

        self.rows = [
            SessionListing(SessionInfo(f"P{i}", DosingProtocol.KETAMINE_IV, "Dr", T_START + i, session_id=i), False)
            for i in range(n, 0, -1)
        ]
        self.asked = 0

    def count_sessions(self, flt):
        return len(self.rows)

    def find_sessions(self, flt, offset, limit):
        self.asked += min(limit, max(0, len(self.rows) - offset))
        return self.rows[offset : offset + limit]


def test_browser_model_fetches_pages_lazily(qtbot):
    from PySide6.QtCore import QModelIndex

    from ui.session_browser import PAGE

    fake = _ManySessions(10_000)
    b = SessionBrowser(fake)
    qtbot.addWidget(b)
    b.show()
    assert b.model.total == 10_000 and b.model.rowCount() < 10_000 and fake.asked < 10_000
    n = b.model.rowCount()
    assert b.model.canFetchMore(QModelIndex())
    b.model.fetchMore(QModelIndex())
    assert b.model.rowCount() == n + PAGE
    assert b.count_label.text() == "10000 sessions"
    assert b.model.data(b.model.index(5, 5)) == "interrupted"


def test_silences_longer_than_the_gap_threshold_draw_as_gaps():
    from ui.review_window import GAP_S, with_gaps

    t = np.array([0.0, 1.0, 2.0, 2.0 + GAP_S + 10, 3.0 + GAP_S + 10])
    v = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    t2, v2 = with_gaps(t, v)
    assert t2.size == 6 and np.isnan(v2[3]) and np.all(np.diff(t2) > 0)
    assert np.array_equal(v2[~np.isnan(v2)], v)
