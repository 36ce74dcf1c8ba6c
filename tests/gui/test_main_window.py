"""The live dashboard driven by hand: feed the core, tick the adapter, read what the nurse would see."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from monitor.errors import StorageError
from monitor.events import NoticeLevel, TechnicalNotice
from monitor.ports import DeviceInfo
from monitor.readings import DeviceStatus, Flag, LinkState, Quality, Reading, WaveformBlock
from ui import theme
from ui.main_window import MainWindow
from ui.session_dialog import SessionDialog
from ui.trend_panel import TrendWindow

from .helpers import SRC, make_session, readings

# ---- tiles ------------------------------------------------------------------------------------


def test_tiles_show_the_latest_values(window, core, clock, frame):
    core.put_readings(readings("hr", [70, 71, 72], clock.now() - 3, source="sim:ecg"))
    core.put_readings(readings("spo2", [96, 97], clock.now() - 2))
    core.put_readings(readings("rr", [14], clock.now() - 1, source="sim:ecg"))
    frame()
    tiles = window.tiles
    assert (tiles.hr.title_text, tiles.hr.value_text) == ("HR", "72")
    assert tiles.spo2.value_text == "97"
    assert tiles.rr.value_text == "14"
    assert tiles.spo2.marker_text == ""


def test_no_value_yet_shows_dashes(window, frame):
    frame()
    assert window.tiles.hr.value_text == "--"
    assert window.tiles.spo2.value_text == "--"
    assert window.tiles.nibp.value_text == "--/--"


def test_heart_rate_tile_falls_back_to_pulse_rate(window, core, clock, frame):
    core.put_readings(readings("pr", [64], clock.now()))
    frame()
    assert (window.tiles.hr.title_text, window.tiles.hr.value_text) == ("PR", "64")
    core.put_readings(readings("hr", [66], clock.now(), source="sim:ecg"))
    frame()
    assert (window.tiles.hr.title_text, window.tiles.hr.value_text) == ("HR", "66")


def test_invalid_reading_shows_dashes_and_why(window, core, clock, frame):
    core.put_readings(readings("spo2", [97], clock.now() - 1))
    core.put_readings([Reading.invalid(SRC, "spo2", clock.now(), Flag.PROBE_OFF)])
    frame()
    assert window.tiles.spo2.value_text == "--"
    assert "probe off" in window.tiles.spo2.note_text


def test_implausible_value_is_never_shown_as_a_number(window, core, clock, frame):
    """Issue 13: the core marks SpO2 1257 % INVALID|IMPLAUSIBLE; tile and trend show no number."""
    core.put_readings(readings("spo2", [97], clock.now() - 1))
    core.put_readings([Reading(SRC, "spo2", clock.now(), 1257.0)])
    frame()
    assert window.tiles.spo2.value_text == "--"
    assert "implausible value" in window.tiles.spo2.note_text
    _, y = window.trends.curves()[("spo2", SRC)].getOriginalDataset()
    assert y[0] == 97 and math.isnan(y[-1])


def test_questionable_value_is_marked(window, core, clock, frame):
    core.put_readings([Reading(SRC, "spo2", clock.now(), 91, Quality.QUESTIONABLE, Flag.LOW_PERFUSION)])
    frame()
    assert window.tiles.spo2.value_text == "91"
    assert window.tiles.spo2.marker_text == "?"
    assert "low perfusion" in window.tiles.spo2.note_text


def test_old_numeric_is_not_shown_as_current(window, core, clock, frame):
    core.put_readings(readings("spo2", [97], clock.now()))
    frame()
    clock.advance(45)
    frame()
    assert window.tiles.spo2.value_text == "--"
    assert window.tiles.spo2.note_text == "no update for 45 s"


def test_nibp_tile_shows_sys_dia_map_and_age(window, core, clock, frame):
    t = clock.now()
    core.put_readings(
        [Reading("sim:nibp", "nibp_sys", t, 128), Reading("sim:nibp", "nibp_dia", t, 82), Reading("sim:nibp", "nibp_map", t, 97)]
    )
    clock.advance(125)
    frame()
    nibp = window.tiles.nibp
    assert (nibp.value_text, nibp.secondary_text) == ("128/82", "(97)")
    assert nibp.note_text.startswith("2 min ago")
    assert not nibp.stale
    clock.advance(15 * 60)
    frame()
    assert nibp.note_text.startswith("17 min ago")
    assert nibp.stale  # greyed: older than the NIBP interval


def test_invalid_nibp_cycle_shows_dashes(window, core, clock, frame):
    t = clock.now()
    core.put_readings([Reading.invalid("sim:nibp", ch, t, Flag.NO_VALUE) for ch in ("nibp_sys", "nibp_dia", "nibp_map")])
    frame()
    assert window.tiles.nibp.value_text == "--/--"


def test_tile_values_are_large_enough_for_3_m(window, core, clock, frame):
    core.put_readings(readings("spo2", [97], clock.now()))
    frame()
    for tile in (window.tiles.hr, window.tiles.spo2, window.tiles.nibp, window.tiles.rr):
        assert tile._value.pixel_size >= 48


def test_tiles_follow_every_frame_while_other_labels_are_throttled(qtbot, core, clock, adapter):
    """The big numbers are what the nurse reads: a new value is on its tile in the next frame
    (issue 18: the tiles were refreshed with the slow labels, up to 250 ms late)."""
    w = MainWindow(core, clock, adapter, label_interval_s=3600.0)
    qtbot.addWidget(w)
    w.show()
    status_refreshes: list[float] = []
    refresh_status = w.status_line.refresh
    w.status_line.refresh = lambda now: (status_refreshes.append(now), refresh_status(now))  # type: ignore[method-assign]
    core.put_readings(readings("spo2", [97], clock.now()))
    core.process_pending()
    adapter.tick()  # first frame (and the device's "streaming" event) refresh the labels
    assert w.tiles.spo2.value_text == "97"
    assert len(status_refreshes) == 1
    clock.advance(1.0)
    core.put_readings(readings("spo2", [95], clock.now()))
    core.process_pending()
    adapter.tick()
    assert w.tiles.spo2.value_text == "95"  # the tile: in this very frame
    assert len(status_refreshes) == 1  # the device status line: within the interval, untouched


def test_hidden_window_skips_refresh(qtbot, core, clock, adapter):
    w = MainWindow(core, clock, adapter, label_interval_s=0.0)
    qtbot.addWidget(w)
    core.put_readings(readings("spo2", [97], clock.now()))
    core.process_pending()
    adapter.tick()
    assert w.tiles.spo2.value_text == "--"
    assert w.trends.curves() == {}


# ---- trends -----------------------------------------------------------------------------------


def test_trend_curves_hold_data_relative_to_now_with_nan_gaps(window, core, clock, frame):
    t0 = clock.now()
    core.put_readings(readings("spo2", [97, 96], t0))
    core.put_readings([Reading.invalid(SRC, "spo2", t0 + 2, Flag.PROBE_OFF)])
    core.put_readings(readings("spo2", [95, 94], t0 + 3))
    clock.set(t0 + 4)
    frame()
    curve = window.trends.curves()[("spo2", SRC)]
    x, y = curve.getOriginalDataset()
    assert len(x) == 5
    assert math.isnan(y[2])  # INVALID stays a gap, never interpolated
    assert x[-1] == pytest.approx(0.0)  # minutes before now
    assert x[0] == pytest.approx(-4 / 60)
    assert curve.opts["connect"] == "finite"
    shown_x, shown_y = curve.getData()
    assert len(shown_x) > 0 and np.isnan(shown_y).any()


def test_one_curve_per_source(window, core, clock, frame):
    core.put_readings(readings("hr", [70], clock.now(), source="sim:ecg"))
    core.put_readings(readings("hr", [71], clock.now(), source="sim:other"))
    frame()
    assert {k for k in window.trends.curves() if k[0] == "hr"} == {("hr", "sim:ecg"), ("hr", "sim:other")}


def test_trend_ranges_are_fixed_and_mouse_is_off(window, core, clock, frame):
    core.put_readings(readings("rr", [400], clock.now()))  # absurd value must not rescale the view
    frame()
    for row in window.trends.rows:
        vb = row.plot.getViewBox()
        assert vb.autoRangeEnabled() == [False, False]
        assert vb.state["mouseEnabled"] == [False, False]
    curve = window.trends.curves()[("rr", SRC)]
    assert curve.opts["clipToView"] and curve.opts["autoDownsample"] and curve.opts["downsampleMethod"] == "peak"
    assert curve.opts["antialias"] is False and curve.opts["pen"].width() <= 1
    rr_row = window.trends.rows[-1]
    (_, _), (ylo, yhi) = rr_row.plot.getViewBox().viewRange()
    assert ylo == pytest.approx(0) and yhi < 45


def test_curves_are_only_reset_when_data_changed(window, core, clock, frame):
    core.put_readings(readings("spo2", [97], clock.now()))
    frame()
    curve = window.trends.curves()[("spo2", SRC)]
    calls = []
    original = curve.setData
    curve.setData = lambda *a, **k: (calls.append(1), original(*a, **k))  # test-only spy, GUI thread
    frame()  # same now, same data
    assert calls == []
    core.put_readings(readings("spo2", [96], clock.now() + 0.5))
    frame()
    assert calls == [1]


def test_nibp_is_drawn_as_markers_with_a_bar(window, core, clock, frame):
    t = clock.now()
    core.put_readings(
        [Reading("sim:nibp", "nibp_sys", t, 130), Reading("sim:nibp", "nibp_dia", t, 85), Reading("sim:nibp", "nibp_map", t, 100)]
    )
    clock.advance(60)
    frame()
    nibp = window.trends.rows[2].nibp
    assert nibp is not None
    x, y = nibp.sys.getOriginalDataset()
    assert list(y) == [130] and x[0] == pytest.approx(-1.0)
    assert nibp.sys.opts["symbol"] == "t" and nibp.sys.opts["pen"] is None  # markers, no line
    bx, by = nibp.bar.getOriginalDataset()
    assert list(by) == [130, 85] and list(bx) == pytest.approx([-1.0, -1.0])
    assert ("nibp_sys", "sim:nibp") not in window.trends.curves()


def test_window_selector_changes_x_range(window, core, clock, frame):
    window.start_session(make_session(clock))
    clock.advance(2 * 3600)
    frame()
    assert window.trends.x_range() == pytest.approx((-30.0, 0.0))
    window.trends.window_buttons[TrendWindow.MIN_5].click()
    frame()
    assert window.trends.x_range() == pytest.approx((-5.0, 0.0))
    window.trends.window_buttons[TrendWindow.SESSION].click()
    frame()
    assert window.trends.window is TrendWindow.SESSION
    assert window.trends.x_range() == pytest.approx((-120.0, 0.0))


def test_dose_line_marks_t0(window, core, clock, frame):
    window.start_session(make_session(clock))
    clock.advance(300)
    window.mark_dose()
    clock.advance(600)
    frame()
    for row in window.trends.rows:
        assert row.dose_line.isVisible()
        assert row.dose_line.value() == pytest.approx(-10.0)


def test_new_session_replaces_curves(window, core, clock, frame):
    window.start_session(make_session(clock))
    core.put_readings(readings("spo2", [97], clock.now()))
    frame()
    old = window.trends.curves()[("spo2", SRC)]
    assert window.end_session()
    window.start_session(make_session(clock, "KX-0200"))
    frame()
    assert window.trends.curves() == {}
    core.put_readings(readings("spo2", [95], clock.now()))
    frame()
    assert window.trends.curves()[("spo2", SRC)] is not old


# ---- pleth sweep --------------------------------------------------------------------------------


def test_pleth_sweep_appears_with_fixed_ranges_and_an_erase_gap(window, core, clock, frame):
    fs = 75.0
    samples = 0.5 + 0.4 * np.sin(np.arange(int(10 * fs)) / fs * 2 * np.pi)
    core.put_waveform(WaveformBlock(SRC, "pleth", clock.now() - 10, fs, samples))
    frame()
    assert window.waveform.isVisible()
    frame()
    assert window.waveform.channel == "pleth"
    x, y = window.waveform.curve.getOriginalDataset()
    assert len(x) > 300
    assert np.nanmin(x) >= 0 and np.nanmax(x) <= 6.0
    assert np.isnan(y).sum() == 1  # the erase gap ahead of the cursor
    (x0, x1), (y0, y1) = window.waveform.plot.getViewBox().viewRange()
    assert (x0, x1, y0, y1) == pytest.approx((0.0, 6.0, 0.0, 1.0))
    clock.advance(10)
    frame()
    assert window.waveform.message == "no pleth signal"


# ---- header: session clock and buttons ----------------------------------------------------------


def test_session_clock_counts_pre_dose_then_from_t0(window, core, clock, frame):
    frame()
    assert window.session_clock_text() == "NO SESSION"
    assert not window.dose_button.isEnabled()
    window.start_session(make_session(clock))
    clock.advance(130)
    frame()
    assert window.session_clock_text() == "PRE-DOSE 00:02:10 since start"
    assert window.dose_button.isEnabled()
    assert window.patient_label.text() == "KX-0147"

    window.dose_button.click()

    assert core.session.info.t0 == clock.now()
    assert not window.dose_button.isEnabled()
    clock.advance(38 * 60 + 12)
    frame()
    assert window.session_clock_text() == "T+00:38:12"


def test_dose_has_a_keyboard_shortcut(window):
    assert window.dose_button.shortcut().toString() == "Ctrl+D"


def test_refused_dose_is_shown_not_raised(window, core, clock, frame):
    assert window.mark_dose() is False
    assert "no session" in window.last_error
    window.start_session(make_session(clock))
    assert window.mark_dose() is True
    assert window.mark_dose() is False  # t0 is set once
    assert "already set" in window.last_error
    assert "already set" in window.statusBar().currentMessage()


def test_end_session_asks_first(window, core, clock, frame, monkeypatch):
    window.start_session(make_session(clock))
    frame()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.No))
    window.end_button.click()
    assert core.session.info.ended is None
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    window.end_button.click()
    assert core.session.info.ended == clock.now()
    frame()
    assert not window.end_button.isEnabled()
    assert window.new_session_button.isEnabled()
    assert window.session_clock_text().startswith("ENDED")


# ---- device status and technical notices --------------------------------------------------------


def test_status_line_shows_streaming_then_no_data_then_lost(window, core, clock, frame):
    core.register_device(DeviceInfo(SRC, "Pulse oximeter", "oximeter", 10.0))
    core.put_readings(readings("spo2", [97], clock.now()))
    frame()
    assert window.status_line.texts()[SRC] == "● Pulse oximeter: streaming"
    assert window.status_line.colours()[SRC] == theme.STATE_OK
    clock.advance(25)
    frame()
    assert window.status_line.texts()[SRC] == "● Pulse oximeter: no data for 25 s"
    assert window.status_line.colours()[SRC] == theme.STATE_BAD
    core.put_status(DeviceStatus(SRC, LinkState.LOST, clock.now(), "port vanished"))
    frame()
    assert window.status_line.texts()[SRC] == "● Pulse oximeter: lost: port vanished"
    assert window.status_line.colours()[SRC] == theme.STATE_BAD


def test_notice_banner_appears_and_clears(window, core, clock, frame):
    frame()
    assert not window.banner.isVisible()
    core.post_notice(TechnicalNotice("app.device-setup", "Bedside oximeter: unknown protocol", NoticeLevel.WARNING, clock.now()))
    frame()
    assert window.banner.isVisible()
    assert window.banner.texts() == ["⚠ Bedside oximeter: unknown protocol"]
    core.post_notice(TechnicalNotice("app.device-setup", "ok", NoticeLevel.INFO, clock.now(), active=False))
    frame()
    assert not window.banner.isVisible()


def test_conditions_the_alarm_system_shows_are_not_repeated_in_the_banner(window, core, clock, frame):
    """A failing recorder is an alarm condition: the alarm list shows it, the notice banner does not."""
    core.post_notice(TechnicalNotice("recorder", "Recording degraded: disk full", NoticeLevel.CRITICAL, clock.now()))
    frame()
    assert not window.banner.isVisible()
    assert any("Recording degraded: disk full" in row[2] for row in window.alarm_list.rows())


def test_lost_device_raises_an_alarm_that_clears_when_data_returns(window, core, clock, frame):
    core.register_device(DeviceInfo(SRC, "Pulse oximeter", "oximeter", 10.0))
    core.put_status(DeviceStatus(SRC, LinkState.LOST, clock.now(), "unplugged"))
    frame()
    assert not window.banner.isVisible()  # shown once, by the alarm system
    rows = window.alarm_list.rows()
    assert rows and "Pulse oximeter" in rows[0][2] and rows[0][3] == "active"
    core.put_status(DeviceStatus(SRC, LinkState.STREAMING, clock.now()))
    frame()
    assert window.alarm_list.rows()[0][3].startswith("cleared")


# ---- new session dialog -------------------------------------------------------------------------


def test_new_session_dialog_refuses_a_name(window, core, qtbot):
    dialog = window.open_new_session_dialog()
    assert isinstance(dialog, SessionDialog)
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.patient_edit, "John Smith")
    qtbot.keyClicks(dialog.clinician_edit, "RN Jansen")
    assert not dialog.ok_button.isEnabled()
    assert dialog.patient_error.isVisible()
    assert "not a pseudonym" in dialog.patient_error.text()
    dialog.accept()  # even forced, an invalid dialog does not start anything
    assert core.session is None
    dialog.reject()


def test_new_session_dialog_starts_the_session(window, core, clock, qtbot, frame):
    dialog = window.open_new_session_dialog()
    qtbot.keyClicks(dialog.patient_edit, "KX-0147")
    assert not dialog.ok_button.isEnabled()  # clinician is required
    qtbot.keyClicks(dialog.clinician_edit, "RN Jansen")
    dialog.protocol_combo.setCurrentIndex(1)
    assert dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    info = core.session.info
    assert (info.patient_id, info.clinician, info.started) == ("KX-0147", "RN Jansen", clock.now())
    assert info.protocol.label == dialog.protocol_combo.itemText(1)
    frame()
    assert window.patient_label.text() == "KX-0147"
    assert not window.new_session_button.isEnabled()


def test_second_session_while_running_is_refused(window, core, clock):
    assert window.start_session(make_session(clock))
    assert not window.start_session(make_session(clock, "KX-0200"))
    assert "already running" in window.last_error
    assert core.session.info.patient_id == "KX-0147"


# ---- screenshot ---------------------------------------------------------------------------------


def test_save_screenshot_writes_png(window, frame, tmp_path):
    frame()
    path = tmp_path / "dash.png"
    window.save_screenshot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_screenshot_to_missing_folder_raises_oserror(window, tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        window.save_screenshot(tmp_path / "missing" / "dash.png")


def test_environmental_error_from_the_recording_is_shown(window, core, clock, monkeypatch):
    def fail(session):
        raise StorageError("database is locked: retry in a moment")

    monkeypatch.setattr(core, "start_session", fail)
    assert window.start_session(make_session(clock)) is False
    assert window.last_error == "database is locked: retry in a moment"


def test_nibp_tile_fits_three_digit_diastolic(window, core, clock, frame):
    t = clock.now()
    core.put_readings([Reading("sim:nibp", "nibp_sys", t, 210), Reading("sim:nibp", "nibp_dia", t, 125)])
    frame()
    label = window.tiles.nibp._value
    assert label.text() == "210/125"
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.width()
    assert label.pixel_size >= 48
