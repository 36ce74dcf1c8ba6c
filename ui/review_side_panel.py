"""The review window's side panel: the session summary (computed on a worker thread after the first
paint), the signatures with a Sign button, the export buttons and the replay button.

``ReviewSidePanel`` is mixed into ``ui.review_window.ReviewWindow``, which owns the state it reads
(``session_id``, ``info``, ``events``, the reader, sign-off, exports and replay ports, the summary
thread and its poll timer) and places the widget ``_side_panel()`` returns.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from monitor.errors import KnownError
from monitor.report_data import SignatureLine
from monitor.summary import summarize_recorded, summary_lines
from ui import theme
from ui.review_dialogs import ReplayDialog, SignDialog

PANEL_WIDTH = 380


class ReviewSidePanel:
    """Summary, signatures, exports (methods of ``ReviewWindow``)."""

    def _side_panel(self) -> QWidget:
        panel = QWidget()
        panel.setObjectName("reviewPanel")
        col = QVBoxLayout(panel)
        col.setContentsMargins(6, 0, 6, 0)

        def heading(text: str) -> QLabel:
            label = QLabel(text)
            label.setFont(theme.font(theme.SMALL_PX + 2, bold=True))
            return label

        col.addWidget(heading("Summary"))
        self.summary_status = QLabel("Computing the summary…")
        self.summary_status.setWordWrap(True)
        col.addWidget(self.summary_status)
        self.summary_form = QFormLayout()
        self.summary_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        col.addLayout(self.summary_form)
        self.summary_labels: dict[str, QLabel] = {}

        col.addWidget(_separator())
        col.addWidget(heading("Signatures"))
        self.signature_labels = QVBoxLayout()
        col.addLayout(self.signature_labels)
        self.sign_button = QPushButton("Sign…")
        self.sign_button.setEnabled(self._signoff is not None)
        self.sign_button.clicked.connect(self._sign_dialog)
        col.addWidget(self.sign_button)
        self._show_signatures(None, pending=True)

        col.addWidget(_separator())
        col.addWidget(heading("Export"))
        grid = QGridLayout()
        self.export_buttons: dict[str, QPushButton] = {}
        formats = self._exports.formats() if self._exports is not None else {}
        for i, (code, spec) in enumerate(formats.items()):
            button = QPushButton(spec.label)
            button.setToolTip(spec.description)
            button.clicked.connect(lambda _=False, c=code: self._export_dialog(c))
            grid.addWidget(button, i // 3, i % 3)
            self.export_buttons[code] = button
        col.addLayout(grid)
        self.replay_button = QPushButton("Replay on the dashboard…")
        self.replay_button.setToolTip("Play the session back through the live dashboard, 1x to 60x")
        self.replay_button.setEnabled(self._replay is not None)
        self.replay_button.clicked.connect(self._replay_dialog)
        col.addWidget(self.replay_button)
        self.action_status = QLabel("")
        self.action_status.setWordWrap(True)
        col.addWidget(self.action_status)
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setFixedWidth(PANEL_WIDTH)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setStyleSheet(
            f"QScrollArea, QWidget#reviewPanel {{ background: {theme.PANEL}; }} QLabel {{ font-size: {theme.SMALL_PX}px; }}"
        )
        return scroll

    def _compute_summary(self) -> None:
        """Worker thread: the signatures checked against the record's hash (~1 s for a signed 4-hour
        session) and the summary over every reading as a ``Reading`` (~0.5 s), so neither holds up
        the first paint. Results and errors go to the future; ``_poll_summary`` shows them."""
        try:
            signatures: list[SignatureLine] | KnownError | None = None
            if self._signoff is not None:
                try:
                    signatures = self._signoff.signatures(self.session_id)
                except KnownError as exc:
                    signatures = exc
            readings = self._reader.readings(self.session_id)
            summary = summarize_recorded(self.info, readings, self.events, end_t=self.end_t)
            self._summary_future.set_result((summary, signatures))
        except BaseException as exc:  # delivered to the GUI thread by _poll_summary (a bug reaches the crash handler)
            self._summary_future.set_exception(exc)

    def _poll_summary(self) -> None:
        if not self._summary_future.done():
            return
        self._summary_poll.stop()
        try:
            self.summary, signatures = self._summary_future.result()
        except KnownError as exc:
            self.summary_status.setText(f"The summary could not be computed: {exc}")
            self._show_signatures(exc)
            return
        self._show_signatures(signatures)
        self.summary_status.setText("Post-dose figures; minutes from the first dose.")
        for label, text in summary_lines(self.summary):
            value = QLabel(text)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            name = QLabel(label)
            name.setStyleSheet(f"color: {theme.TEXT_DIM};")
            self.summary_form.addRow(name, value)
            self.summary_labels[label] = value
        self.summary_ready.emit()

    def refresh_signatures(self) -> None:
        """Read every signature again, each checked against the record now (outdated ones in red)."""
        if self._signoff is None:
            self._show_signatures(None)
            return
        try:
            self._show_signatures(self._signoff.signatures(self.session_id))
        except KnownError as exc:
            self._show_signatures(exc)

    def _show_signatures(self, signatures: list[SignatureLine] | KnownError | None, pending: bool = False) -> None:
        while self.signature_labels.count():
            item = self.signature_labels.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        self.signatures: list[SignatureLine] = []
        if pending:
            lines = [("Checking the signatures against the record…", theme.TEXT_DIM)]
        elif self._signoff is None:
            lines = [("Signing is not available here.", theme.TEXT_DIM)]
        elif isinstance(signatures, KnownError):
            lines = [(f"Signatures could not be read: {signatures}", theme.STATE_BAD)]
        else:
            self.signatures = list(signatures or [])
            lines = [(s.text, theme.TEXT if s.valid else theme.STATE_BAD) for s in self.signatures]
            if not lines:
                lines = [("Not yet reviewed.", theme.TEXT_DIM)]
        for text, colour in lines:
            label = QLabel(text)
            label.setWordWrap(True)
            label.setStyleSheet(f"color: {colour};")
            self.signature_labels.addWidget(label)

    def sign(self, login: str, password: str, meaning: str, *, interrupted_ok: bool = False) -> SignatureLine:
        """Sign this session (``KnownError`` if refused) and show the signatures again."""
        if self._signoff is None:
            raise KnownError("signing is not available in this window")
        line = self._signoff.sign(self.session_id, login, password, meaning, interrupted_ok=interrupted_ok)
        self.refresh_signatures()
        self.action_status.setText(line.text)
        return line

    def _sign_dialog(self) -> None:
        if self._signoff is not None:
            SignDialog(self, self._signoff.meanings, interrupted=self.info.ended is None).exec()

    def export_to(self, fmt: str, path: str, replace: bool = False) -> str | None:
        """Write the session as ``fmt`` to ``path`` (an existing file only with ``replace``); the outcome
        is shown under the buttons. Returns the path written, or None (the message says why)."""
        if self._exports is None:
            return None
        try:
            written = self._exports.export(self.session_id, fmt, path, replace)
        except KnownError as exc:
            self.action_status.setText(f"Not exported: {exc}")
            self.action_status.setStyleSheet(f"color: {theme.STATE_BAD};")
            return None
        self.action_status.setText(f"Wrote {written}")
        self.action_status.setStyleSheet(f"color: {theme.TEXT};")
        return written

    def _export_dialog(self, fmt: str) -> None:
        if self._exports is None:
            return
        spec = self._exports.formats()[fmt]
        what, suffix = spec.description, spec.suffix
        default = str(Path.home() / f"session-{self.session_id}-{self.info.patient_id}{suffix}")
        path, _ = QFileDialog.getSaveFileName(
            self,
            f"Export session {self.session_id}: {what}",
            default,
            f"*{suffix}",
            options=QFileDialog.Option.DontConfirmOverwrite,  # confirm_replace asks, the same way everywhere
        )
        if path:
            self.export_chosen(fmt, path)

    def export_chosen(self, fmt: str, path: str) -> str | None:
        """Export to the path the user chose; an existing file is replaced only once the user says
        so (issue 13, finding 9), else it is kept and nothing is written."""
        exists = os.path.lexists(path)
        if exists and not self.confirm_replace(path):
            self.action_status.setText(f"Not exported: {path} was kept")
            self.action_status.setStyleSheet(f"color: {theme.TEXT};")
            return None
        return self.export_to(fmt, path, replace=exists)

    def confirm_replace(self, path: str) -> bool:
        answer = QMessageBox.question(
            self,
            "Replace file?",
            f"{path} already exists. Replace it with this export?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _replay_dialog(self) -> None:
        if self._replay is None:
            return
        dialog = ReplayDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            try:
                self._replay(self.session_id, dialog.speed())
            except KnownError as exc:
                self.action_status.setText(f"Replay not started: {exc}")
                return
            self.action_status.setText(f"Replay of session {self.session_id} started at {dialog.speed():g}x in a new window")


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setStyleSheet(f"color: {theme.PANEL_BORDER};")
    return line
