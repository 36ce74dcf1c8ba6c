"""The review window's dialogs: signing the session and choosing a replay speed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from monitor.errors import KnownError
from ui import theme

if TYPE_CHECKING:
    from ui.review_window import ReviewWindow


class SignDialog(QDialog):
    """Login ID, password and meaning (21 CFR 11.50: printed name, time and meaning go with the
    signature); for a session with no end, the signer must confirm it was cut short."""

    def __init__(self, window: ReviewWindow, meanings: tuple[str, ...], *, interrupted: bool) -> None:
        super().__init__(window)
        self.setWindowTitle(f"Sign session {window.session_id}")
        self._window = window
        self.login = QLineEdit()
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.meaning = QComboBox()
        self.meaning.addItems(list(meanings))
        self.interrupted = QCheckBox("This session was cut short (crash or power loss); no bedside is still recording it")
        self.interrupted.setVisible(interrupted)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.STATE_BAD};")
        form = QFormLayout(self)
        form.addRow("Signer ID", self.login)
        form.addRow("Password", self.password)
        form.addRow("Meaning", self.meaning)
        form.addRow(self.interrupted)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign")
        buttons.accepted.connect(self.try_sign)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def try_sign(self) -> None:
        """Sign, or keep the dialog open with the reason (wrong password, no end...)."""
        try:
            self._window.sign(
                self.login.text(), self.password.text(), self.meaning.currentText(), interrupted_ok=self.interrupted.isChecked()
            )
        except KnownError as exc:
            self.error.setText(str(exc))
            self.password.clear()
            return
        self.accept()


class ReplayDialog(QDialog):
    """How fast to play the session back on the dashboard (1x-60x)."""

    SPEEDS = (1, 2, 5, 10, 30, 60)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle("Replay on the dashboard")
        self.speed_box = QComboBox()
        for v in self.SPEEDS:
            self.speed_box.addItem(f"{v}x", v)
        self.speed_box.setCurrentIndex(self.SPEEDS.index(10))
        form = QFormLayout(self)
        form.addRow("Speed", self.speed_box)
        note = QLabel("The replay opens the live dashboard in a new window; it is not added to the recorded sessions.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def speed(self) -> float:
        return float(self.speed_box.currentData())
