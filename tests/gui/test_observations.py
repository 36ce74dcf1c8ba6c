"""Observation entry by keyboard alone, the checkpoint strip, the event list with amendments, and
the discharge lock — on a real Core with the shipped protocol templates and a fake recorder."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from monitor.core import Core
from monitor.events import EventKind
from monitor.observations import ObsKind
from monitor.readings import Reading
from monitor.schedule import load_templates
from tests.unit.monitor.test_core import FakeRecorder
from ui.main_window import MainWindow
from ui.observation_dialogs import (
    AdverseEventDialog,
    CadssDialog,
    DischargeDialog,
    DoseDialog,
    MoaasDialog,
    RassDialog,
    VitalsDialog,
)

from .helpers import make_session

MIN = 60.0


@pytest.fixture
def recorder() -> FakeRecorder:
    return FakeRecorder()


@pytest.fixture
def core(clock, recorder) -> Core:  # overrides the conftest core: protocol rules and a recorder
    return Core(clock, recorder, templates=load_templates())


@pytest.fixture
def started(window: MainWindow, core: Core, clock, frame, qtbot):
    assert window.start_session(make_session(clock))
    window.activateWindow()
    frame()
    return window


def committed(recorder, kind=EventKind.OBSERVATION):
    return [e.data for _, e in recorder.events if e.kind is kind]


def key(widget, k):
    from PySide6.QtTest import QTest

    QTest.keyClick(widget, k)


def type_into(widget, text: str) -> None:
    from PySide6.QtTest import QTest

    QTest.keyClicks(widget, text)


def focused():
    return QApplication.focusWidget()


def cuff(core, clock, sys, dia):
    t = clock.now()
    core.put_readings([Reading("sim:nibp", "nibp_sys", t, sys), Reading("sim:nibp", "nibp_dia", t, dia)])


def open_by_hotkey(window, panel, hotkey, cls):
    activate(window)
    panel.dialog = None
    key(window, hotkey)
    dialog = panel.dialog
    assert isinstance(dialog, cls), f"{hotkey} opened {dialog!r}"
    activate(dialog)
    return dialog


def activate(dialog):
    """The nurse's keystrokes go to the dialog once it is the active window."""
    from PySide6.QtTest import QTest

    dialog.activateWindow()
    for _ in range(100):
        if QApplication.activeWindow() is dialog:
            return
        QTest.qWait(10)
    raise AssertionError("dialog did not become active")


def test_moaas_by_keyboard_commits_then_lists(started, core, recorder, frame, qtbot):
    panel = started.observations
    dialog = open_by_hotkey(started, panel, Qt.Key.Key_F3, MoaasDialog)
    assert "MOAA/S (0–5)" in dialog.windowTitle()
    assert "Responds only after mild prodding or shaking" in dialog.score_buttons[2].text()
    key(dialog, Qt.Key.Key_4)
    assert dialog.result() == dialog.DialogCode.Accepted
    (data,) = committed(recorder)
    assert data["obs_kind"] == "moaas" and data["data"]["score"] == 4 and data["author"] == "RN Jansen"
    frame()
    assert any("MOAA/S 4" in t for t in panel.events.texts())
    assert started.trends.markers and started.trends.markers[0][1] == "MOAA/S 4"


def test_cadss_by_keyboard_with_live_total(started, recorder, frame):
    dialog = open_by_hotkey(started, started.observations, Qt.Key.Key_F4, CadssDialog)
    dialog.items[0].setFocus()
    key(dialog.items[0], Qt.Key.Key_Return)  # not all answered: refused, nothing stored
    assert "not answered: 1, 2" in dialog.error_label.text() and not committed(recorder)
    for digit in "2" + "0" * 20 + "13":
        type_into(focused(), digit)
    assert "Total 6 / 92" in dialog.total_label.text()
    assert "CADSS-6 3 / 24" in dialog.total_label.text()  # items 1 (2) and 22 (1)
    key(focused(), Qt.Key.Key_Return)
    (data,) = committed(recorder)
    assert data["data"]["total"] == 6 and data["data"]["cadss6"] == 3


def test_rass_by_keyboard(started, recorder):
    dialog = open_by_hotkey(started, started.observations, Qt.Key.Key_F5, RassDialog)
    key(dialog.list, Qt.Key.Key_Down)
    key(dialog.list, Qt.Key.Key_Down)
    key(dialog.list, Qt.Key.Key_Return)
    (data,) = committed(recorder)
    assert data["data"]["score"] == -2


def test_adverse_event_by_keyboard(started, recorder):
    dialog = open_by_hotkey(started, started.observations, Qt.Key.Key_F6, AdverseEventDialog)
    dialog.checks["nausea"].setFocus()
    key(focused(), Qt.Key.Key_Space)
    dialog.intervention_edit.setFocus()
    type_into(focused(), "ondansetron 4 mg")
    key(focused(), Qt.Key.Key_Return)
    (data,) = committed(recorder)
    assert data["data"]["items"] == ["nausea"] and data["data"]["intervention"] == "ondansetron 4 mg"


def test_manual_vitals_refused_then_fixed_by_keyboard(started, core, recorder, frame):
    dialog = open_by_hotkey(started, started.observations, Qt.Key.Key_F7, VitalsDialog)
    dialog.fields["nibp_sys"].setFocus()
    type_into(focused(), "80")
    key(focused(), Qt.Key.Key_Tab)
    type_into(focused(), "95")
    key(focused(), Qt.Key.Key_Return)
    assert "must be higher than diastolic" in dialog.error_label.text()
    assert dialog.isVisible() and not committed(recorder)
    dialog.fields["nibp_sys"].setFocus()
    focused().selectAll()
    type_into(focused(), "135")
    key(focused(), Qt.Key.Key_Return)
    (data,) = committed(recorder)
    assert data["data"]["values"] == {"nibp_sys": 135.0, "nibp_dia": 95.0}
    frame()
    assert core.store.latest("nibp_sys").source == "manual"


def test_dose_refused_without_bp_then_given_by_keyboard(started, core, clock, recorder, frame):
    dialog = open_by_hotkey(started, started.observations, Qt.Key.Key_F2, DoseDialog)
    assert dialog.route_combo.currentData() == "intranasal" and dialog.dose_spin.value() == 28
    dialog.lot_edit.setFocus()
    type_into(focused(), "LOT42")
    key(focused(), Qt.Key.Key_Return)
    assert "pre-dose blood pressure is required" in dialog.error_label.text()
    assert core.session.info.t0 is None and not committed(recorder)
    cuff(core, clock, 128, 82)
    frame()
    key(focused(), Qt.Key.Key_Return)
    (data,) = committed(recorder)
    assert data["data"]["lot"] == "LOT42" and data["data"]["device"] == 1
    assert core.session.info.t0 is not None


def test_dose_button_opens_the_dose_dialog_with_a_template(started):
    started.dose_button.click()
    assert isinstance(started.observations.dialog, DoseDialog)


def test_high_pre_dose_bp_shows_caution_to_acknowledge(started, core, clock, recorder, frame):
    cuff(core, clock, 150, 92)
    frame()
    panel = started.observations
    assert panel.caution_button.isVisible() and "150/92" in panel.caution_button.text()
    assert not started.mark_dose()
    assert "prescriber must acknowledge" in started.last_error
    dialog = panel.open_bp_ack()
    activate(dialog)
    key(dialog.author_edit, Qt.Key.Key_Return)
    assert "required" in dialog.error_label.text()
    type_into(dialog.author_edit, "Dr Berg")
    key(dialog.author_edit, Qt.Key.Key_Return)
    assert committed(recorder)[0]["author"] == "Dr Berg"
    frame()
    assert not panel.caution_button.isVisible()
    assert started.mark_dose()


def test_amend_keeps_original_visible(started, core, recorder, frame):
    panel = started.observations
    key(open_by_hotkey(started, panel, Qt.Key.Key_F3, MoaasDialog), Qt.Key.Key_2)
    frame()
    activate(started)
    panel.events.list.setFocus()
    panel.events.list.setCurrentRow(0)
    key(panel.events.list, Qt.Key.Key_Return)  # Enter on an entry = Amend…
    dialog = panel.dialog
    assert isinstance(dialog, MoaasDialog) and dialog.original is not None
    activate(dialog)
    dialog.score_buttons[3].setFocus()
    key(dialog.score_buttons[3], Qt.Key.Key_3)
    assert "reason" in dialog.error_label.text() and len(committed(recorder, EventKind.AMENDMENT)) == 0
    dialog.reason_edit.setFocus()
    type_into(dialog.reason_edit, "wrong patient sheet")
    dialog.score_buttons[3].setFocus()
    key(dialog.score_buttons[3], Qt.Key.Key_3)
    (amend,) = committed(recorder, EventKind.AMENDMENT)
    assert amend["amends"] == committed(recorder)[0]["obs_id"] and amend["reason"] == "wrong patient sheet"
    frame()
    texts = panel.events.texts()
    assert "MOAA/S 2" in texts[0] and "amended" in texts[1] and "MOAA/S 3" in texts[1]
    assert [o.data["score"] for o in core.observations.current(ObsKind.MOAAS)] == [3]


def test_checkpoint_strip_and_discharge_lock(started, core, clock, recorder, frame):
    cuff(core, clock, 120, 80)
    frame()
    assert started.mark_dose()
    panel = started.observations
    clock.advance(35 * MIN)
    frame()
    assert "BP T+40" in panel.prompts()
    chip = next(c for c in panel.chips if c.text().startswith("BP T+40"))
    assert "due now" in chip.text()
    clock.advance(11 * MIN)
    frame()
    assert "overdue" in next(c for c in panel.chips if c.text().startswith("BP T+40")).text()
    frame()  # the notice posted by the strip reaches the banner
    notices = [e.data for _, e in recorder.events if e.kind is EventKind.TECHNICAL_NOTICE]
    assert any(n["key"] == "checkpoint:bp_40" and n["active"] and "overdue" in n["message"] for n in notices)
    cuff(core, clock, 132, 84)
    frame()
    frame()
    notices = [e.data for _, e in recorder.events if e.kind is EventKind.TECHNICAL_NOTICE]
    assert notices[-1]["key"] == "checkpoint:bp_40" and not notices[-1]["active"]
    dialog = open_by_hotkey(started, panel, Qt.Key.Key_F10, DischargeDialog)
    for box in dialog.checks.values():
        box.setChecked(True)
    assert not dialog.save_button.isEnabled() and "120 min" in dialog.blocked_label.text()
    dialog.reject()
    clock.advance(74 * MIN)  # T+120
    cuff(core, clock, 122, 78)
    frame()
    dialog = open_by_hotkey(started, panel, Qt.Key.Key_F10, DischargeDialog)
    assert dialog.blocked_label.text() == ""
    for box in dialog.checks.values():
        box.setFocus()
        key(box, Qt.Key.Key_Space)
    assert dialog.save_button.isEnabled()
    dialog.save_button.setFocus()
    key(dialog.save_button, Qt.Key.Key_Space)
    assert committed(recorder)[-1]["obs_kind"] == "discharge"
    assert core.session.info.end_reason == "discharged"


def test_one_tap_preset_by_hotkey(started, recorder, frame):
    from PySide6.QtTest import QTest

    activate(started)
    QTest.keyClick(started, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    (data,) = committed(recorder)
    assert data["obs_kind"] == "therapy" and data["data"]["text"] == "EMDR set started"
    frame()
    assert "Therapy: EMDR set started" in started.observations.events.texts()[0]
