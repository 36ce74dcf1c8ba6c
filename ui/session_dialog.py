"""The "New session" dialog: who (a pseudonym, never a name), which protocol, which clinician.

The patient ID is checked with ``monitor.session.validate_patient_id`` as it is typed and its
message shown inline, so a typed full name is refused before it can reach the recording. OK stays
disabled until everything is valid.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from monitor.clock import Clock
from monitor.session import DosingProtocol, Session, SessionInfo, validate_patient_id
from ui import theme


class SessionDialog(QDialog):
    def __init__(self, clock: Clock, clinician: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New session")
        self.setMinimumWidth(520)
        self._clock = clock
        self._session: Session | None = None

        self.patient_edit = QLineEdit()
        self.patient_edit.setPlaceholderText("clinic pseudonym, e.g. KX-0147")
        self.patient_error = QLabel("")
        self.patient_error.setWordWrap(True)
        self.patient_error.setStyleSheet(f"color: {theme.STATE_BAD};")
        self.protocol_combo = QComboBox()
        for p in DosingProtocol:
            self.protocol_combo.addItem(p.label, p)
        self.clinician_edit = QLineEdit(clinician)
        self.clinician_edit.setPlaceholderText("required")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Start session")

        form = QFormLayout()
        form.addRow("Patient ID", self.patient_edit)
        form.addRow("", self.patient_error)
        form.addRow("Protocol", self.protocol_combo)
        form.addRow("Clinician", self.clinician_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

        self.patient_edit.textChanged.connect(self._validate)
        self.clinician_edit.textChanged.connect(self._validate)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._validate()

    @Slot()
    def _validate(self) -> bool:
        """Enable OK only for a valid pseudonym and a clinician; say what is wrong inline."""
        pid = self.patient_edit.text()
        error = ""
        if pid.strip():
            try:
                validate_patient_id(pid)
            except ValueError as exc:
                error = str(exc)
        self.patient_error.setText(error)
        self.patient_error.setVisible(bool(error))
        ok = bool(pid.strip()) and not error and bool(self.clinician_edit.text().strip())
        self.ok_button.setEnabled(ok)
        return ok

    def accept(self) -> None:
        """Build the Session (started = now on the session clock); stay open if anything is invalid."""
        if not self._validate():
            return
        protocol = self.protocol_combo.currentData()
        assert isinstance(protocol, DosingProtocol)
        info = SessionInfo(
            patient_id=validate_patient_id(self.patient_edit.text()),
            protocol=protocol,
            clinician=self.clinician_edit.text().strip(),
            started=self._clock.now(),
        )
        try:
            self._session = Session(info)
        except ValueError as exc:
            self.patient_error.setText(str(exc))
            self.patient_error.setVisible(True)
            return
        super().accept()

    def session(self) -> Session | None:
        """The new session once the dialog was accepted; None if cancelled."""
        return self._session
