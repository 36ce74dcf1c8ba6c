"""Pure helpers of the dashboard: clock text, ages, sweep geometry, device state text."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.core import DeviceView
from monitor.ports import DeviceInfo
from monitor.readings import LinkState
from monitor.session import DosingProtocol, SessionInfo
from ui.main_window import hms, session_clock_parts
from ui.status_panel import device_state_text
from ui.tiles import age_text
from ui.waveform_panel import sweep_arrays

T = 1_800_000_000.0


def test_hms():
    assert hms(0) == "00:00:00"
    assert hms(38 * 60 + 12.9) == "00:38:12"  # never runs ahead
    assert hms(2 * 3600 + 5) == "02:00:05"
    assert hms(-3) == "00:00:00"


def test_session_clock_parts():
    info = SessionInfo("KX-1", DosingProtocol.SPRAVATO, "RN", started=T)
    assert session_clock_parts(None, T) == ("NO SESSION", "", "")
    assert session_clock_parts(info, T + 130) == ("PRE-DOSE", "00:02:10", "since start")
    dosed = SessionInfo("KX-1", DosingProtocol.SPRAVATO, "RN", started=T, t0=T + 100)
    assert session_clock_parts(dosed, T + 100 + 7200) == ("", "T+02:00:00", "")
    ended = SessionInfo("KX-1", DosingProtocol.SPRAVATO, "RN", started=T, t0=T + 100, ended=T + 400)
    assert session_clock_parts(ended, T + 9999) == ("ENDED", "T+00:05:00", "")


def test_age_text():
    assert age_text(5) == "5 s ago"
    assert age_text(125) == "2 min ago"
    assert age_text(3900) == "1 h 05 min ago"


def test_sweep_arrays_put_this_sweep_left_of_the_cursor_and_the_last_one_right_of_the_gap():
    fs = 10.0
    t = T + np.arange(0, 80) / fs  # 8 s of samples: the cursor is 2 s into the second sweep
    v = np.arange(len(t), dtype=float)
    cursor = t[-1]
    x, y = sweep_arrays(t, v, cursor, 6.0, 0.5)
    phase = math.fmod(cursor, 6.0)
    gap = int(np.flatnonzero(np.isnan(y))[0])
    assert np.all(np.diff(x[:gap]) > 0) and x[gap - 1] == pytest.approx(phase)
    assert y[gap - 1] == v[-1]  # the newest sample sits at the cursor
    assert x[gap + 1] >= phase + 0.5 - 1e-9  # erase gap ahead of the cursor
    assert np.all((x >= 0) & (x <= 6.0))
    assert len(x) == 20 + 1 + 35  # 2 s now, the gap marker, 3.5 s of the previous sweep


def test_device_state_text():
    info = DeviceInfo("sim:a", "Oximeter", "oximeter", 10.0)
    assert device_state_text(DeviceView(info, LinkState.CONNECTING), T)[0] == "connecting…"
    assert device_state_text(DeviceView(info, LinkState.STREAMING, last_data_t=T - 2), T)[0] == "streaming"
    assert device_state_text(DeviceView(info, LinkState.STREAMING, last_data_t=T - 65), T)[0] == "no data for 1 min"
    assert device_state_text(DeviceView(info, LinkState.NO_DATA), T)[0] == "no data"
    assert device_state_text(DeviceView(info, LinkState.STOPPED), T)[0] == "stopped"
