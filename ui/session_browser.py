"""The session browser: every recorded session, filtered and paged in the database, opening one in review.

The table model holds only the pages fetched so far (``canFetchMore``/``fetchMore``), so a database
with thousands of sessions lists at once. "Not yet reviewed" means no "reviewed" signature, or one
followed by a later entry (an amendment, a note); the review window checks each signature against
the record's hash.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QDate, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from monitor.errors import StorageError
from monitor.ports import SessionFilter, SessionListing, SessionReader
from monitor.session import DosingProtocol

PAGE = 200
HEADERS = ("#", "Patient", "Protocol", "Started", "Duration", "End", "High alarms", "Reviewed")
_Index = QModelIndex | QPersistentModelIndex


class SessionTableModel(QAbstractTableModel):
    """Sessions matching a filter, fetched a page at a time as the view scrolls."""

    def __init__(self, reader: SessionReader, parent: Any = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self._filter = SessionFilter()
        self._rows: list[SessionListing] = []
        self._total = 0

    @property
    def total(self) -> int:
        """How many sessions match the filter (not just the pages loaded)."""
        return self._total

    def set_filter(self, flt: SessionFilter) -> None:
        """Count the matches and load the first page."""
        self.beginResetModel()
        self._filter = flt
        self._total = self._reader.count_sessions(flt)
        self._rows = self._reader.find_sessions(flt, 0, PAGE)
        self.endResetModel()

    def listing(self, row: int) -> SessionListing:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def canFetchMore(self, parent: _Index) -> bool:
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: _Index) -> None:
        if parent.isValid():
            return
        page = self._reader.find_sessions(self._filter, len(self._rows), PAGE)
        if not page:
            self._total = len(self._rows)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        item = self._rows[index.row()]
        info = item.info
        col = index.column()
        if col == 0:
            return str(info.session_id)
        if col == 1:
            return info.patient_id
        if col == 2:
            return info.protocol.label
        if col == 3:
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(info.started))
        if col == 4:
            return "" if info.ended is None else f"{(info.ended - info.started) / 60:.0f} min"
        if col == 5:
            return "interrupted" if info.ended is None else (info.end_reason or "ended")
        if col == 6:
            return "yes" if item.had_high_alarm else ""
        return "yes" if item.reviewed else ""


class _Table(QTableView):
    """Enter opens the current session (double-click is the view's own ``doubleClicked``)."""

    enter_pressed = Signal(QModelIndex)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.enter_pressed.emit(self.currentIndex())
            return
        super().keyPressEvent(event)


class SessionBrowser(QWidget):
    """Filters above a paged session table; ``open_session`` carries the chosen session id,
    ``open_course`` the patient ID of the selected row (their treatment course)."""

    open_session = Signal(int)
    open_course = Signal(str)

    def __init__(self, reader: SessionReader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Session Monitor — recorded sessions")
        self.model = SessionTableModel(reader, self)
        self.patient = QLineEdit(placeholderText="Patient ID (prefix*)")
        self.protocol = QComboBox()
        self.protocol.addItem("Any protocol", None)
        for p in DosingProtocol:
            self.protocol.addItem(p.label, p)
        self.use_dates = QCheckBox("From")
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addMonths(-1), calendarPopup=True)
        self.date_to = QDateEdit(today, calendarPopup=True)
        self.high_only = QCheckBox("Had high-priority alarms")
        self.not_reviewed = QCheckBox("Not yet reviewed")
        apply = QPushButton("Apply")
        self.count_label = QLabel()
        self.error_label = QLabel()
        self.error_label.setObjectName("notice")
        self.error_label.hide()

        filters = QHBoxLayout()
        for w in (
            self.patient,
            self.protocol,
            self.use_dates,
            self.date_from,
            QLabel("to"),
            self.date_to,
            self.high_only,
            self.not_reviewed,
            apply,
        ):
            filters.addWidget(w)
        filters.addStretch(1)
        filters.addWidget(self.count_label)

        self.table = _Table()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._open)
        self.table.enter_pressed.connect(self._open)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.error_label)
        layout.addWidget(self.table, 1)
        self._add_course_button(filters)

        apply.clicked.connect(self.refresh)
        self.patient.returnPressed.connect(self.refresh)
        self.high_only.toggled.connect(self.refresh)
        self.not_reviewed.toggled.connect(self.refresh)
        self.protocol.currentIndexChanged.connect(self.refresh)
        self.refresh()

    def current_filter(self) -> SessionFilter:
        """The filter the widgets describe (dates are local days, the "to" day included)."""
        started_from = started_to = None
        if self.use_dates.isChecked():
            started_from = float(self.date_from.dateTime().toSecsSinceEpoch())
            started_to = float(self.date_to.date().addDays(1).startOfDay().toSecsSinceEpoch())
        return SessionFilter(
            patient_id=self.patient.text().strip() or None,
            started_from=started_from,
            started_to=started_to,
            protocol=self.protocol.currentData(),
            high_alarms_only=self.high_only.isChecked(),
            not_reviewed=self.not_reviewed.isChecked(),
        )

    def refresh(self) -> None:
        """Re-run the query with the current filters."""
        try:
            self.model.set_filter(self.current_filter())
        except StorageError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return
        self.error_label.hide()
        self.count_label.setText(f"{self.model.total} sessions")

    def _add_course_button(self, bar: QHBoxLayout) -> None:
        """The "Treatment course" button: every session of the selected row's patient side by side (issue 7)."""
        self.course_button = QPushButton("Treatment course")
        self.course_button.setToolTip("All sessions of the selected session's patient, aligned at the dose")
        self.course_button.clicked.connect(self._open_course)
        bar.addWidget(self.course_button)

    def _open_course(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        index = rows[0] if rows else self.table.currentIndex()
        if not index.isValid():
            self.error_label.setText("Select a session first, to see its patient's treatment course")
            self.error_label.show()
            return
        self.open_course.emit(self.model.listing(index.row()).info.patient_id)

    def _open(self, index: QModelIndex) -> None:
        session_id = self.model.listing(index.row()).info.session_id
        if session_id is not None:
            self.open_session.emit(session_id)
