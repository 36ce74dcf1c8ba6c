"""The alarm limits dialog: preset, limits beside live values, sources, validated and recorded edits."""

from __future__ import annotations

import pytest

from monitor.alarms import Transition
from monitor.readings import Reading
from ui.alarm_limits_dialog import AlarmLimitsDialog

from .helpers import make_session


@pytest.fixture
def dialog(qtbot, core, clock):
    core.start_session(make_session(clock))
    core.put_readings([Reading("sim:nibp", "nibp_sys", clock.now(), 136.0), Reading("sim:oximeter", "spo2", clock.now(), 97.0)])
    core.process_pending()
    d = AlarmLimitsDialog(core, lambda: "RN Jansen")
    qtbot.addWidget(d)
    d.show()
    return d


def test_shows_preset_limits_live_values_and_sources(dialog):
    assert "Spravato (REMS)" in dialog.windowTitle()
    rows = dialog.rows()
    assert rows["sbp_high"][2] == "180" and rows["sbp_high"][3] == "SBP 136" and "req. 15" in rows["sbp_high"][6]
    assert rows["spo2_below_93"][1] == "SpO₂ < ×2 consecutive" and rows["spo2_below_93"][3] == "SpO₂ 97"
    assert rows["sbp_rise_mmhg"][2] == "off" and "baseline none yet" in rows["sbp_rise_mmhg"][3]
    assert rows["spo2_at_or_below_90"][5] == "yes"


def test_refused_edit_says_why_and_changes_nothing(dialog, core):
    error = dialog.set_limit("hr_low", "130")
    assert error is not None and "must be below the high limit 120" in error
    assert dialog.error_label.text() == error
    assert core.alarms.preset().rule("hr_low").limit == 50
    assert dialog.rows()["hr_low"][2] == "50"
    assert "no pre-dose baseline" in (dialog.set_limit("sbp_rise_mmhg", "+40") or "")
    assert "must be a number" in (dialog.set_limit("sbp_high", "lots") or "")


def test_accepted_edit_applies_and_is_recorded_with_who_old_new(dialog, core):
    while not core.ui_events.empty():
        core.ui_events.get_nowait()
    assert dialog.set_limit("sbp_high", "170") is None
    assert core.alarms.preset().rule("sbp_high").limit == 170 and dialog.rows()["sbp_high"][2] == "170"
    events = []
    while not core.ui_events.empty():
        events.append(core.ui_events.get_nowait())
    setting = [e for e in events if getattr(e, "transition", None) is Transition.SETTING_CHANGED]
    assert len(setting) == 1 and setting[0].user == "RN Jansen"
    assert (setting[0].data["old"], setting[0].data["new"]) == (180.0, 170.0)
