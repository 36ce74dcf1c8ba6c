"""The nurse ticks the symptoms of a hypertensive crisis the patient reports (clinical.md
requirement 15). With SBP ≥ 180 or DBP ≥ 110 present, any ticked symptom makes that alarm HIGH with
the label's prompt "refer for emergency care"; the core records who ticked what, when."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from monitor.alarms import CRISIS_SYMPTOMS, AlarmSettingError
from monitor.core import Core
from ui import theme

log = logging.getLogger(__name__)


class CrisisSymptomsDialog(QDialog):
    def __init__(self, core: Core, user: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._core, self._user = core, user
        self.setWindowTitle("Crisis symptoms")
        intro = QLabel(
            "Tick what the patient reports now. While SBP ≥ 180 or DBP ≥ 110, any ticked symptom makes the "
            "blood-pressure alarm HIGH: refer for emergency care. Untick a symptom once it has resolved."
        )
        intro.setWordWrap(True)
        intro.setFont(theme.font(theme.SMALL_PX))
        self.boxes: dict[str, QCheckBox] = {}
        ticked = core.alarms.crisis_symptoms()
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        for code, label in CRISIS_SYMPTOMS.items():
            box = QCheckBox(label.capitalize())
            box.setChecked(code in ticked)
            box.setMinimumHeight(32)
            self.boxes[code] = box
            layout.addWidget(box)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.ALARM_MEDIUM};")
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.apply)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def ticked(self) -> set[str]:
        return {code for code, box in self.boxes.items() if box.isChecked()}

    @Slot()
    def apply(self) -> str | None:
        """Record the ticked symptoms and close; the refusal message (dialog stays open), or None."""
        try:
            self._core.alarms.set_crisis_symptoms(self.ticked(), self._user())
        except AlarmSettingError as exc:
            self.error_label.setText(str(exc))
            return str(exc)
        self.accept()
        return None
