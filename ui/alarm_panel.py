"""Visual alarm signals: the alarm bar (message of the most urgent condition, flashing in its
priority colour, the inactivation indicator with its countdown and the operator's buttons) and
the alarm list (time, priority, message, state).

Colours and rates from clinical.md §4.3 / requirement 20: HIGH red flashing 2.0 Hz, MEDIUM yellow
0.6 Hz, both 50 % on; LOW cyan steady. The flash phase comes from a real-time clock (``Flasher``),
not from frame counts or session time, so it is right at any frame rate and simulation speed and
tests can measure it. Styles are only set when the rendered phase changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QRect, QRectF, Qt, Slot
from PySide6.QtGui import QAction, QColor, QFontMetrics, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from monitor.alarms import (
    AlarmEvent,
    AlarmPriority,
    AlarmSettingError,
    AlarmState,
    ConditionState,
    Inactivation,
    Transition,
)
from monitor.alarms.rules import CRISIS_CONDITIONS
from monitor.core import Core
from ui import theme

log = logging.getLogger(__name__)

#: (frequency Hz, fraction on) per priority; LOW is steady (clinical.md §4.3, requirement 20).
FLASH: Final[dict[AlarmPriority, tuple[float, float] | None]] = {
    AlarmPriority.HIGH: (2.0, 0.5),
    AlarmPriority.MEDIUM: (0.6, 0.5),
    AlarmPriority.LOW: None,
}
COLOURS: Final[dict[AlarmPriority, str]] = {
    AlarmPriority.HIGH: theme.ALARM_HIGH,
    AlarmPriority.MEDIUM: theme.ALARM_MEDIUM,
    AlarmPriority.LOW: theme.ALARM_LOW,
}
#: Which tile shows which channel's alarm.
TILE_CHANNELS: Final[dict[str, tuple[str, ...]]] = {
    "hr": ("hr", "pr"),
    "spo2": ("spo2",),
    "nibp": ("nibp_sys", "nibp_dia", "nibp_map", "abp_sys", "abp_dia", "abp_map"),
    "rr": ("rr",),
}
_DARK: Final = "#1a1a1a"


class Flasher:
    """Whether a priority's visual signal is lit at an instant, from a real-time clock."""

    def __init__(self, now_s: Callable[[], float] = time.monotonic) -> None:
        self._now_s = now_s
        self._origin = now_s()

    def now(self) -> float:
        return self._now_s()

    def lit(self, priority: AlarmPriority | None, t: float | None = None) -> bool:
        if priority is None:
            return False
        flash = FLASH[priority]
        if flash is None:
            return True
        hz, duty = flash
        phase = ((self._now_s() if t is None else t) - self._origin) * hz % 1.0
        return phase < duty


def countdown_text(seconds: float) -> str:
    s = max(0, int(seconds + 0.999))  # never shows 0:00 while still paused
    return f"{s // 60}:{s % 60:02d}"


class AlarmMessage(QLabel):
    """The most urgent alarm's message, always whole (issue 14): it wraps, and asks the layout for
    the height its lines need at the width it got; a message needing more than two lines at the
    bar's size is set smaller rather than cut."""

    LARGE_PX: Final = 26
    SMALL_PX: Final = 20

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setObjectName("alarmMessage")
        self.setFont(theme.font(self.LARGE_PX, bold=True))
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(46)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _needed(self, px: int) -> int:
        fm = QFontMetrics(theme.font(px, bold=True))
        width = max(1, self.contentsRect().width())
        return fm.boundingRect(QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap), self.text()).height()

    def _fit(self) -> None:
        px = self.LARGE_PX
        if self._needed(px) > 2 * QFontMetrics(theme.font(px, bold=True)).lineSpacing() + 2:
            px = self.SMALL_PX
        if self.font().pixelSize() != px:
            self.setFont(theme.font(px, bold=True))
        height = max(46, self._needed(px) + 4)
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)


class AlarmBar(QFrame):
    """The most urgent visible condition, the inactivation indicator and the operator's buttons."""

    def __init__(
        self,
        core: Core,
        user: Callable[[], str],
        flasher: Flasher | None = None,
        on_error: Callable[[str], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBar")
        self._core, self._user = core, user
        self.flasher = flasher or Flasher()
        self._on_error = on_error or (lambda message: log.warning("%s", message))
        self._state: AlarmState | None = None
        self._rendered: tuple[AlarmPriority | None, bool] | None = None
        self._background, self._border, self._border_px = theme.PANEL, theme.PANEL_BORDER, 1  # set by _render
        self.renders = 0  # style changes (tests)

        self.message = AlarmMessage("No alarms")
        self.more = QLabel("")
        self.more.setFont(theme.font(theme.SMALL_PX, bold=True))
        self.indicator = QLabel("")
        self.indicator.setObjectName("alarmIndicator")
        self.indicator.setFont(theme.font(18, bold=True))
        self.indicator.setStyleSheet(f"color: {theme.ALARM_MEDIUM}; background: #3a3000; padding: 4px 10px; border-radius: 4px;")
        self.indicator.setVisible(False)

        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.clicked.connect(self.acknowledge)
        self.pause_button = QPushButton("Audio paused 2:00")
        self.pause_button.setToolTip(
            "AUDIO PAUSED: silence the alarm sound for 2 minutes; a new higher-priority alarm still sounds"
        )
        self.pause_button.clicked.connect(self.pause_audio)
        self.more_button = QToolButton()
        self.more_button.setText("More ▾")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.more_button)
        self.alarm_pause_action = QAction("Alarm paused (sound and display, 2 min)", menu)
        self.alarm_pause_action.triggered.connect(lambda: self.inactivate(Inactivation.ALARM_PAUSED))
        self.audio_off_action = QAction("Audio off (until resumed, with reminders)", menu)
        self.audio_off_action.triggered.connect(lambda: self.inactivate(Inactivation.AUDIO_OFF))
        self.alarm_off_action = QAction("Alarm off (until resumed, with reminders)", menu)
        self.alarm_off_action.triggered.connect(lambda: self.inactivate(Inactivation.ALARM_OFF))
        self.symptoms_action = QAction("Crisis symptoms… (chest pain, dyspnoea, …)", menu)
        self.symptoms_action.triggered.connect(self.open_symptoms_dialog)
        for action in (self.alarm_pause_action, self.audio_off_action, self.alarm_off_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.symptoms_action)
        self.more_button.setMenu(menu)
        self.resume_button = QPushButton("Resume alarms")
        self.resume_button.clicked.connect(self.resume)
        self.resume_button.setEnabled(False)
        self.limits_button = QPushButton("Limits…")
        self.symptoms_button = QPushButton("Crisis symptoms…")
        self.symptoms_button.setToolTip(
            "Tick chest pain, dyspnoea, severe headache, visual change or neurological deficit: "
            "with SBP ≥ 180 or DBP ≥ 110 the alarm becomes HIGH — refer for emergency care"
        )
        self.symptoms_button.clicked.connect(self.open_symptoms_dialog)
        self.symptoms_button.setVisible(False)  # on the bar while severe hypertension is present or symptoms are ticked
        self._symptoms_dialog: QWidget | None = None

        # the message takes the room it needs (wrapped, never cut); the buttons give way: on a small
        # screen they go onto two rows (``set_button_rows``)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.message, 1)
        info = QHBoxLayout()
        info.addWidget(self.indicator)
        info.addWidget(self.more)
        info.addStretch(1)
        text.addLayout(info)
        self._buttons = (
            self.ack_button,
            self.pause_button,
            self.more_button,
            self.resume_button,
            self.symptoms_button,
            self.limits_button,
        )
        self._grid = QGridLayout()
        self._grid.setSpacing(4)
        for b in self._buttons:
            b.setMinimumHeight(34)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.setSpacing(8)
        row.addLayout(text, 1)
        row.addLayout(self._grid)
        self.button_rows = 0
        self.set_button_rows(1)
        self._render(None, False)

    def set_button_rows(self, rows: int) -> None:
        """Lay the buttons out on ``rows`` rows (2 on small screens, so the message keeps its room)."""
        if rows == self.button_rows:
            return
        self.button_rows = rows
        for b in self._buttons:
            self._grid.removeWidget(b)
        per_row = -(-len(self._buttons) // rows)
        for i, b in enumerate(self._buttons):
            self._grid.addWidget(b, i // per_row, i % per_row)

    # ---- state from the core ------------------------------------------------------------------
    @property
    def state(self) -> AlarmState | None:
        return self._state

    @property
    def lit(self) -> bool:
        """Whether the banner is drawn in its alarm colour right now (what the nurse sees)."""
        return self._rendered is not None and self._rendered[1]

    def on_state(self, state: AlarmState) -> None:
        self._state = state
        top = state.highest
        text = "No alarms" if top is None else f"{top.priority.marker} {top.message}"
        if top is not None and top.state is ConditionState.ACKNOWLEDGED:
            text += "  (acknowledged)"
        if self.message.text() != text:
            self.message.setText(text)
            self.message.setToolTip(text)
        hidden = sum(1 for c in state.conditions if c.visible) - (0 if top is None else 1)
        self.more.setText(f"+{hidden} more" if hidden > 0 else "")
        self.ack_button.setEnabled(any(c.state is not ConditionState.ACKNOWLEDGED for c in state.conditions))
        self.resume_button.setEnabled(state.inactivation is not Inactivation.NONE)
        symptoms = f"Crisis symptoms ({len(state.symptoms)})…" if state.symptoms else "Crisis symptoms…"
        if self.symptoms_button.text() != symptoms:
            self.symptoms_button.setText(symptoms)
        relevant = bool(state.symptoms) or any(c.key in CRISIS_CONDITIONS for c in state.conditions)
        if self.symptoms_button.isVisibleTo(self) != relevant:
            self.symptoms_button.setVisible(relevant)

    @Slot(float)
    def refresh(self, now: float, lit_phase: bool = False) -> None:
        """Per frame: the flash phase and the pause countdown (session time ``now``).
        ``lit_phase`` forces the lit half of the flash (screenshots)."""
        state = self._state
        top = None if state is None else state.highest
        priority = None if top is None else top.priority
        self._render(priority, priority is not None and (lit_phase or self.flasher.lit(priority)))
        if state is None or state.inactivation is Inactivation.NONE:
            if self.indicator.isVisible():
                self.indicator.setVisible(False)
            return
        text = state.inactivation.label  # words, not a bell glyph the installed fonts may lack
        remaining = state.remaining_s(now)
        if remaining is not None:
            text += f" {countdown_text(remaining)}"
        if self.indicator.text() != text:
            self.indicator.setText(text)
        if not self.indicator.isVisible():
            self.indicator.setVisible(True)

    def _render(self, priority: AlarmPriority | None, lit: bool) -> None:
        """One flash phase: the bar paints its own background and border (``paintEvent``) and only its
        two text labels are restyled — a style sheet on the bar itself re-polished every button on it,
        ~30 ms of GUI thread per phase change while a HIGH alarm flashes at 2 Hz."""
        if self._rendered == (priority, lit):
            return
        self._rendered = (priority, lit)
        self.renders += 1
        if priority is None:
            self._background, self._border, self._border_px, fg = theme.PANEL, theme.PANEL_BORDER, 1, theme.TEXT_DIM
        else:
            colour = COLOURS[priority]
            self._border, self._border_px = colour, 2
            self._background, fg = (colour, "#000000") if lit else (_DARK, colour)
        for label in (self.message, self.more):
            label.setStyleSheet(f"color: {fg};")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        half = self._border_px / 2
        painter.setPen(QPen(QColor(self._border), self._border_px))
        painter.setBrush(QColor(self._background))
        painter.drawRect(QRectF(self.rect()).adjusted(half, half, -half, -half))
        painter.end()

    # ---- operator actions (UI entry points: refusals are shown, never raised into Qt) ---------
    @Slot()
    def acknowledge(self) -> None:
        self._act(lambda: self._core.alarms.acknowledge(self._user()))

    @Slot()
    def pause_audio(self) -> None:
        self.inactivate(Inactivation.AUDIO_PAUSED)

    def inactivate(self, state: Inactivation) -> None:
        self._act(lambda: self._core.alarms.inactivate(state, self._user()))

    @Slot()
    def resume(self) -> None:
        self._act(lambda: self._core.alarms.resume(self._user()))

    @Slot()
    def open_symptoms_dialog(self) -> QWidget:
        """The "Crisis symptoms…" button: a small checkable list (non-modal)."""
        from ui.crisis_symptoms_dialog import CrisisSymptomsDialog

        dialog = CrisisSymptomsDialog(self._core, self._user, parent=self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._symptoms_dialog = dialog
        dialog.open()
        return dialog

    def _act(self, action: Callable[[], object]) -> None:
        try:
            action()
        except AlarmSettingError as exc:
            self._on_error(str(exc))


class AlarmList(QTableWidget):
    """One row per alarm condition occurrence, newest first: time, priority, message, state."""

    COLUMNS: Final = ("Time", "Priority", "Message", "State")
    MAX_ROWS: Final = 500

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for col in (0, 1, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.setStyleSheet(
            f"QTableWidget {{ background: {theme.PANEL}; color: {theme.TEXT}; gridline-color: {theme.PANEL_BORDER}; }}"
            f"QHeaderView::section {{ background: {theme.BUTTON}; color: {theme.TEXT_DIM}; border: none; }}"
        )
        self._open: dict[str, QTableWidgetItem] = {}  # condition key → its row's time item

    def rows(self) -> list[tuple[str, str, str, str]]:
        """The table as text (tests)."""
        return [tuple(self.item(r, c).text() for c in range(len(self.COLUMNS))) for r in range(self.rowCount())]  # type: ignore[misc]

    @Slot(object)
    def on_event(self, e: AlarmEvent) -> None:
        if e.transition is Transition.RAISED and e.key not in self._open:
            self.insertRow(0)
            clock = time.strftime("%H:%M:%S", time.localtime(e.t))
            items = [QTableWidgetItem(clock), QTableWidgetItem(""), QTableWidgetItem(""), QTableWidgetItem("")]
            for col, item in enumerate(items):
                self.setItem(0, col, item)
            self._open[e.key] = items[0]
            if self.rowCount() > self.MAX_ROWS:
                self.removeRow(self.rowCount() - 1)
        item = self._open.get(e.key)
        if item is None or item.row() < 0:
            return
        row = item.row()
        if e.priority is not None and e.transition is not Transition.ACKNOWLEDGED:
            self._set(row, 1, e.priority.name, COLOURS[e.priority])
        if e.message:
            self._set(row, 2, e.message)
        state = {
            Transition.RAISED: "active",
            Transition.ESCALATED: "active",
            Transition.DEESCALATED: "active",
            Transition.ACKNOWLEDGED: f"acknowledged ({e.user})" if e.user else "acknowledged",
            Transition.LATCHED: "latched",
            Transition.CLEARED: "cleared " + time.strftime("%H:%M:%S", time.localtime(e.t)),
        }.get(e.transition)
        if state is not None:
            self._set(row, 3, state)
        if e.transition is Transition.CLEARED:
            del self._open[e.key]

    @Slot(object)
    def on_state(self, state: AlarmState) -> None:
        """Keep open rows' messages current (the value changes while a condition lasts)."""
        for c in state.conditions:
            item = self._open.get(c.key)
            if item is not None and item.row() >= 0:
                self._set(item.row(), 2, c.message)

    def _set(self, row: int, col: int, text: str, colour: str | None = None) -> None:
        item = self.item(row, col)
        if item is not None and item.text() != text:
            item.setText(text)
        if item is not None and colour is not None:
            item.setForeground(theme.qcolor(colour))
