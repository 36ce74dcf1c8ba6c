"""Issue 5 in the GUI: crisis symptoms from the alarm bar (requirement 15), the HR-limits notice
and its confirmation (requirement 17), and the responsible-organization mode of the limits dialog
(requirement 24)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from monitor.alarms import HR_CONFIRM_KEY, AlarmPriority, MemoryAlarmConfig, Role, Transition
from monitor.readings import Reading
from ui.alarm_limits_dialog import LATCHING_COLUMN, PRIORITY_COLUMN, AlarmLimitsDialog
from ui.crisis_symptoms_dialog import CrisisSymptomsDialog

from .helpers import make_session

CUFF = "sim:nibp"


def drain(core) -> list:
    out = []
    while not core.ui_events.empty():
        out.append(core.ui_events.get_nowait())
    return out


def test_crisis_symptoms_from_the_alarm_bar_make_severe_hypertension_high(qtbot, window, core, clock, frame):
    window.start_session(make_session(clock))
    frame()
    bar = window.alarm_bar
    # always in the More menu; on the bar itself only while severe hypertension is present
    assert bar.symptoms_action in bar.more_button.menu().actions()
    assert not bar.symptoms_button.isVisible()
    clock.advance(1)
    core.put_readings([Reading(CUFF, "nibp_sys", clock.now(), 188.0), Reading(CUFF, "nibp_dia", clock.now(), 96.0)])
    frame()
    assert bar.message.text() == "** SBP 188 ≥ 180"
    assert bar.symptoms_button.isVisible() and bar.symptoms_button.text() == "Crisis symptoms…"
    assert bar.message.wordWrap()  # every priority's message wraps rather than being cut (issue 14)

    dialog = window.alarm_bar.open_symptoms_dialog()
    assert isinstance(dialog, CrisisSymptomsDialog) and dialog.isVisible()
    assert [b.text() for b in dialog.boxes.values()] == [
        "Chest pain",
        "Dyspnoea",
        "Severe headache",
        "Visual change",
        "Neurological deficit",
    ]
    dialog.boxes["chest_pain"].click()
    assert dialog.ticked() == {"chest_pain"}
    assert dialog.apply() is None and not dialog.isVisible()
    frame()
    assert window.alarm_bar.message.text() == "*** SBP 188 ≥ 180 + chest pain — refer for emergency care"
    assert bar.message.wordWrap()  # a HIGH message is never cut off: the prompt stays readable
    assert window.alarm_bar.state is not None and window.alarm_bar.state.audio is AlarmPriority.HIGH
    assert window.alarm_bar.symptoms_button.text() == "Crisis symptoms (1)…"
    rows = window.alarm_list.rows()
    assert rows[0][1:3] == ("HIGH", "SBP 188 ≥ 180 + chest pain — refer for emergency care")

    # reopened, the dialog shows what is ticked; unticking brings the alarm back to MEDIUM
    dialog = window.alarm_bar.open_symptoms_dialog()
    assert dialog.ticked() == {"chest_pain"}
    dialog.boxes["chest_pain"].setChecked(False)
    dialog.apply()
    frame()
    assert window.alarm_bar.message.text() == "** SBP 188 ≥ 180"
    clock.advance(1)
    core.put_readings([Reading(CUFF, "nibp_sys", clock.now(), 150.0), Reading(CUFF, "nibp_dia", clock.now(), 90.0)])
    frame()
    assert bar.message.text() == "No alarms" and not bar.symptoms_button.isVisible()
    bar.symptoms_action.trigger()  # still reachable from the menu
    dialog = bar._symptoms_dialog
    assert isinstance(dialog, CrisisSymptomsDialog) and dialog.isVisible()
    dialog.close()


def test_symptoms_dialog_shows_a_refusal_and_stays_open(qtbot, core, clock):
    core.start_session(make_session(clock))
    dialog = CrisisSymptomsDialog(core, lambda: "")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.boxes["dyspnoea"].setChecked(True)
    error = dialog.apply()
    assert error is not None and "name of the person" in error and dialog.error_label.text() == error
    assert dialog.isVisible() and core.alarms.crisis_symptoms() == frozenset()


def test_unconfirmed_hr_limits_show_a_low_notice_on_the_alarm_bar(window, core, frame):
    core.alarms.attach_config(MemoryAlarmConfig())
    frame()
    assert window.alarm_bar.message.text() == "* HR alarm limits not yet confirmed by the medical director — open Limits…"
    assert window.alarm_bar.state is not None and window.alarm_bar.state.visual is AlarmPriority.LOW


@pytest.fixture
def config() -> MemoryAlarmConfig:
    return MemoryAlarmConfig()


@pytest.fixture
def limits(qtbot, core, clock, config):
    core.alarms.attach_config(config)
    core.start_session(make_session(clock))
    core.process_pending()
    d = AlarmLimitsDialog(core, lambda: "RN Jansen")
    qtbot.addWidget(d)
    d.show()
    return d


def test_operator_mode_cannot_change_priority_latching_or_switch_off(limits, core):
    assert limits.role is Role.OPERATOR
    row = list(limits.rows()).index("sbp_high")
    assert not limits.table.item(row, PRIORITY_COLUMN).flags() & Qt.ItemFlag.ItemIsEditable
    assert not limits.table.item(row, LATCHING_COLUMN).flags() & Qt.ItemFlag.ItemIsEditable
    assert "only the responsible organization may change priority" in (limits.set_cell("sbp_high", PRIORITY_COLUMN, "HIGH") or "")
    assert "only the responsible organization may switch" in (limits.set_limit("sbp_high", "off") or "")
    assert core.alarms.preset().rule("sbp_high").priority is AlarmPriority.MEDIUM
    assert limits.rows()["sbp_high"][PRIORITY_COLUMN] == "MEDIUM"
    assert not limits.hr_confirm_button.isEnabled()
    assert "not yet confirmed" in limits.hr_label.text()
    assert "only the responsible organization" in (limits.confirm_hr_limits() or "")


def test_pin_is_set_at_first_use_then_required(limits, config):
    assert limits.ro_pin_repeat.isVisible() and "set a PIN at first use" in limits.mode_label.text()
    assert limits.enter_responsible_mode("Dr Vos", "1357", "1358") == "the two PINs differ; type the new PIN twice"
    assert "at least 4" in (limits.enter_responsible_mode("Dr Vos", "13", "13") or "")
    assert "name of the responsible person" in (limits.enter_responsible_mode(" ", "1357", "1357") or "")
    assert config.pin_record() is None and limits.role is Role.OPERATOR
    assert limits.enter_responsible_mode("Dr Vos", "1357", "1357") is None
    record = config.pin_record()
    assert record is not None and "1357" not in str(record)
    assert limits.role is Role.RESPONSIBLE_ORGANIZATION and "Dr Vos" in limits.mode_label.text()
    limits.leave_responsible_mode()
    assert limits.role is Role.OPERATOR and not limits.ro_pin_repeat.isVisible()
    assert limits.enter_responsible_mode("Dr Vos", "9999") == "wrong PIN" and limits.role is Role.OPERATOR
    assert limits.enter_responsible_mode("Dr Vos", "1357") is None and limits.role is Role.RESPONSIBLE_ORGANIZATION


def test_responsible_mode_changes_restricted_settings_and_confirms_hr(limits, core, config):
    limits.enter_responsible_mode("Dr Vos", "1357", "1357")
    row = list(limits.rows()).index("sbp_high")
    assert limits.table.item(row, PRIORITY_COLUMN).flags() & Qt.ItemFlag.ItemIsEditable
    drain(core)
    assert limits.set_cell("sbp_high", PRIORITY_COLUMN, "high") is None
    assert limits.set_cell("sbp_high", LATCHING_COLUMN, "yes") is None
    assert limits.set_limit("rr_low", "8") is None
    assert "priority must be HIGH, MEDIUM or LOW" in (limits.set_cell("dbp_high", PRIORITY_COLUMN, "urgent") or "")
    rule = core.alarms.preset().rule("sbp_high")
    assert rule.priority is AlarmPriority.HIGH and rule.latching is True
    settings = [e for e in drain(core) if getattr(e, "transition", None) is Transition.SETTING_CHANGED]
    assert [(e.data["field"], e.user, e.data["role"]) for e in settings] == [
        ("priority", "Dr Vos", "responsible_organization"),
        ("latching", "Dr Vos", "responsible_organization"),
        ("limit", "Dr Vos", "responsible_organization"),
    ]
    assert limits.hr_confirm_button.isEnabled()
    assert limits.confirm_hr_limits() is None
    assert config.hr_confirmation() is not None and config.hr_confirmation()["by"] == "Dr Vos"
    assert HR_CONFIRM_KEY not in {c.key for c in core.alarms.state().conditions}
    assert limits.hr_label.text() == "HR limits confirmed by Dr Vos for this workstation"
    confirmed = [e for e in drain(core) if getattr(e, "transition", None) is Transition.SETTING_CHANGED]
    assert [(e.key, e.user) for e in confirmed] == [("hr_limits", "Dr Vos")]


def test_without_a_workstation_configuration_the_mode_is_unavailable(qtbot, core, clock):
    core.start_session(make_session(clock))
    d = AlarmLimitsDialog(core, lambda: "RN Jansen")
    qtbot.addWidget(d)
    d.show()
    assert not d.ro_button.isVisible() and not d.hr_confirm_button.isVisible()
    assert "not available" in (d.enter_responsible_mode("Dr Vos", "1357", "1357") or "")
