"""The live dashboard: header with the session clock, trends and sweep on the left, big numerics on
the right, device status at the bottom, technical notices on top.

Everything is pulled from the core once per frame (``CoreAdapter.frame``): plots and the numeric
tiles every frame (a tile touches a label only when its text changes, so the nurse's numbers are
as fresh as the trend); the other labels (clock, device line, observations) at most every
``label_interval_s`` (~250 ms) so a 60 fps timer does not turn into 60 text layouts a second. Core errors (``ValueError`` for a refused session action,
``KnownError`` from the recording) are shown to the nurse, never raised into Qt.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from monitor.alarms import AlarmEvent, AlarmState, shown_as_alarm
from monitor.clock import Clock
from monitor.core import Core
from monitor.errors import KnownError
from monitor.events import EventKind, SessionEvent, TechnicalNotice
from monitor.observations import describe as describe_observation
from monitor.readings import DeviceStatus
from monitor.session import Session, SessionInfo, SessionState
from ui import theme
from ui.alarm_audio import AlarmSound, AlarmSounder, NullSound
from ui.alarm_panel import COLOURS, TILE_CHANNELS, AlarmBar, AlarmList, Flasher
from ui.core_adapter import CoreAdapter
from ui.observation_panel import ObservationPanel
from ui.session_dialog import SessionDialog
from ui.status_panel import DeviceStatusLine, NoticeBanner
from ui.tiles import TilesPanel
from ui.trend_panel import TrendPanel, TrendWindow
from ui.waveform_panel import WaveformPanel

log = logging.getLogger(__name__)

TILE_COLUMN_WIDTH_PX = 360
#: The observations / alarm-log column beside the trends.
SIDE_COLUMN_WIDTH_PX = 320
#: Below this window size (w, h) the small-screen layout is used: four stacked tiles and a side
#: column need about 1272 × 790 px.
COMPACT_BELOW = (1280, 800)


def hms(seconds: float) -> str:
    """'00:38:12' (whole seconds, rounded down so the clock never runs ahead)."""
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def session_clock_parts(info: SessionInfo | None, now: float) -> tuple[str, str, str]:
    """(prefix, time, suffix) of the session clock: before the dose it counts from the start, after
    the dose it is T+ from t0 (every checkpoint counts from t0), after the end it stops."""
    if info is None:
        return ("NO SESSION", "", "")
    state = info.state
    if state is SessionState.PREPARING:
        return ("PRE-DOSE", hms(now - info.started), "since start")
    if state is SessionState.DOSED:
        assert info.t0 is not None
        return ("", f"T+{hms(now - info.t0)}", "")
    end = info.ended if info.ended is not None else now
    if info.t0 is not None:
        return ("ENDED", f"T+{hms(end - info.t0)}", "")
    return ("ENDED", hms(end - info.started), "no dose given")


class MainWindow(QMainWindow):
    devices_requested = Signal()  # "Devices…" pressed; the app opens the device setup dialog

    def __init__(
        self,
        core: Core,
        clock: Clock,
        adapter: CoreAdapter,
        *,
        label_interval_s: float = 0.25,
        sound: AlarmSound | None = None,
        flasher: Flasher | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``sound``: the alarm loudspeaker (the bedside program passes ``QtAlarmSound``; None is a
        recording stand-in for tests). ``flasher``: the alarm flash clock (tests pass a fake one)."""
        super().__init__(parent)
        self._core = core
        self._clock = clock
        self._adapter = adapter
        self._label_interval_s = label_interval_s
        self._last_labels = -1e9  # time.monotonic() of the last label refresh
        self._labels_due = True
        self._dialog: SessionDialog | None = None
        self._last_clinician = ""
        self.last_error = ""

        self.setWindowTitle("Session Monitor")
        self.setStyleSheet(theme.STYLE_SHEET)
        self.resize(1280, 800)

        self._build_header()
        self.banner = NoticeBanner()
        self.waveform = WaveformPanel(core.store, speed=clock.speed)
        self.waveform.setVisible(False)
        self.trends = TrendPanel(core.store, self._session_info)
        self.tiles = TilesPanel(core.store)
        self.tiles.setFixedWidth(TILE_COLUMN_WIDTH_PX)
        self.status_line = DeviceStatusLine(core.devices)
        self.alarm_bar = AlarmBar(core, self._alarm_user, flasher, on_error=self.show_error)
        self.alarm_bar.limits_button.clicked.connect(self.open_alarm_limits)
        self.alarm_list = AlarmList()
        self.observations = ObservationPanel(core, self, self.show_error)  # issue 6: checkpoints, entry, event list
        self.observations.on_saved = lambda o: self.trends.add_marker(o.t, describe_observation(o))
        self.side_tabs = QTabWidget()  # the event list and the alarm log beside the plots
        self.side_tabs.addTab(self.observations.events, "Observations")
        self.side_tabs.addTab(self.alarm_list, "Alarm log")
        self.side_tabs.setFixedWidth(SIDE_COLUMN_WIDTH_PX)
        self.sound = sound if sound is not None else NullSound()
        self.sounder = AlarmSounder(self.sound, core.post_notice, clock)
        self._alarm_state: AlarmState | None = None
        self._limits_dialog: QWidget | None = None

        self.plots = QWidget()  # the sweep over the trends; on a small screen a tab beside the lists
        left = QVBoxLayout(self.plots)
        left.setContentsMargins(0, 0, 0, 0)
        left.setSpacing(4)
        left.addWidget(self.waveform, 1)
        left.addWidget(self.trends, 5)
        self._body = body = QHBoxLayout()
        body.setSpacing(8)
        body.addWidget(self.plots, 1)
        body.addWidget(self.side_tabs)
        body.addWidget(self.tiles)
        self.compact = False
        central = QWidget()
        central.setObjectName("dashboard")
        self._central_layout = layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 6)
        layout.setSpacing(6)
        layout.addWidget(self.header)
        layout.addWidget(self.alarm_bar)
        layout.addWidget(self.observations)
        layout.addWidget(self.banner)
        layout.addLayout(body, 1)
        layout.addWidget(self.status_line)
        self.setCentralWidget(central)

        adapter.frame.connect(self.refresh)
        adapter.event_received.connect(self.on_event_received)
        self._refresh_labels(clock.now())

    # ---- fitting the screen (issue 14: 1024×600 up to 1920×1080) -----------------------------------
    def show_on_screen(self) -> None:
        """Show the window filling its screen's available area (maximised where a window manager
        maximises; set to that geometry where there is none, e.g. a kiosk X server)."""
        if QGuiApplication.platformName() == "offscreen":  # no real screen: keep the documented 1280×800
            self.show()
            return
        screen = self.screen()
        area = screen.availableGeometry()
        self.set_compact(area.width() < COMPACT_BELOW[0] or area.height() < COMPACT_BELOW[1])
        self.setGeometry(area)
        self.showMaximized()

    def resizeEvent(self, event: QResizeEvent) -> None:
        size = event.size()
        self.set_compact(size.width() < COMPACT_BELOW[0] or size.height() < COMPACT_BELOW[1])
        super().resizeEvent(event)

    def set_compact(self, compact: bool) -> None:
        """The small-screen layout: tiles in a 2 × 2 block taking most of the width, the trends,
        observations and alarm log as tabs beside them, the alarm buttons on two rows and the
        observation buttons without their hotkeys. The tiles stay the largest element."""
        if compact == self.compact:
            return
        self.compact = compact
        if compact:
            self._body.removeWidget(self.plots)
            self.side_tabs.insertTab(0, self.plots, "Trends")
            self.side_tabs.setCurrentIndex(0)
            self.side_tabs.setMinimumWidth(0)
            self.side_tabs.setMaximumWidth(16_777_215)
            self._body.setStretchFactor(self.side_tabs, 2)
            self.tiles.setMinimumWidth(0)
            self.tiles.setMaximumWidth(16_777_215)
            self._body.setStretchFactor(self.tiles, 3)
            self.tiles.set_columns(2)
        else:
            self.side_tabs.removeTab(self.side_tabs.indexOf(self.plots))
            self._body.insertWidget(0, self.plots, 1)
            self.plots.setVisible(True)
            self.side_tabs.setFixedWidth(SIDE_COLUMN_WIDTH_PX)
            self._body.setStretchFactor(self.side_tabs, 0)
            self.tiles.set_columns(1)
            self.tiles.setFixedWidth(TILE_COLUMN_WIDTH_PX)
            self._body.setStretchFactor(self.tiles, 0)
        self.alarm_bar.set_button_rows(2 if compact else 1)
        self.observations.set_compact(compact)
        self.clinician_label.setVisible(not compact)  # its text is in the patient label's tooltip
        self.clock_suffix.setMaximumWidth(0 if compact else 16_777_215)
        self.clock_time.setFont(theme.font(34 if compact else theme.CLOCK_PX, bold=True, numeric=True))
        self._header_row.setContentsMargins(*((8, 2, 8, 2) if compact else (14, 6, 14, 6)))
        self._header_row.setSpacing(6 if compact else 12)
        self._central_layout.setContentsMargins(*((4, 4, 4, 2) if compact else (8, 8, 8, 6)))
        self._central_layout.setSpacing(3 if compact else 6)
        for b in (self.devices_button, self.new_session_button, self.dose_button, self.end_button):
            b.setMinimumHeight(34 if compact else 40)

    def dialog_area(self) -> QRect:
        """Where a dialog may go while monitoring goes on (issue 14): under the alarm bar and left
        of the tiles, over the plots and lists; global coordinates."""
        top_left = self.alarm_bar.mapToGlobal(QPoint(0, self.alarm_bar.height() + 4))
        right = self.tiles.mapToGlobal(QPoint(0, 0)).x() - 8
        bottom = self.mapToGlobal(QPoint(0, self.height())).y()
        return QRect(top_left, QPoint(right, bottom - 1))

    def place_dialog(self, dialog: QWidget) -> None:
        """Give ``dialog`` the dialog area, its window frame included."""
        area = self.dialog_area()
        dialog.resize(area.size())
        dialog.move(area.topLeft())
        frame, inner = dialog.frameGeometry(), dialog.geometry()
        extra_w, extra_h = frame.width() - inner.width(), frame.height() - inner.height()
        if extra_w or extra_h:  # a window manager's frame: keep the frame inside the area
            dialog.resize(area.width() - extra_w, area.height() - extra_h)
            dialog.move(area.topLeft())

    # ---- construction ----------------------------------------------------------------------------
    def _build_header(self) -> None:
        self.header = QFrame()
        self.header.setObjectName("header")
        self.patient_label = QLabel()
        self.patient_label.setFont(theme.font(24, bold=True))
        self.protocol_label = QLabel()
        self.protocol_label.setFont(theme.font(theme.SMALL_PX))
        self.protocol_label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.clinician_label = QLabel()
        self.clinician_label.setFont(theme.font(theme.SMALL_PX))
        self.clinician_label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        for label in (self.patient_label, self.protocol_label, self.clinician_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widen the window
            label.setMinimumWidth(120)
        who = QVBoxLayout()
        who.setSpacing(0)
        who.addWidget(self.patient_label)
        who.addWidget(self.protocol_label)
        who.addWidget(self.clinician_label)

        self.clock_prefix = QLabel()
        self.clock_prefix.setFont(theme.font(theme.LABEL_PX, bold=True))
        self.clock_prefix.setStyleSheet("color: #ffb86b;")
        self.clock_time = QLabel()
        self.clock_time.setFont(theme.font(theme.CLOCK_PX, bold=True, numeric=True))
        self.clock_suffix = QLabel()
        self.clock_suffix.setFont(theme.font(theme.SMALL_PX))
        self.clock_suffix.setStyleSheet(f"color: {theme.TEXT_DIM};")
        for label in (self.clock_prefix, self.clock_time, self.clock_suffix):
            label.setAlignment(Qt.AlignmentFlag.AlignVCenter)
        clock = QHBoxLayout()
        clock.setSpacing(12)
        clock.addWidget(self.clock_prefix)
        clock.addWidget(self.clock_time)
        clock.addWidget(self.clock_suffix)

        self.new_session_button = QPushButton("New session…")
        self.new_session_button.clicked.connect(self.open_new_session_dialog)
        self.dose_button = QPushButton("Dose given")
        self.dose_button.setObjectName("doseButton")
        self.dose_button.setShortcut(QKeySequence("Ctrl+D"))
        self.dose_button.setToolTip("Mark the first dose now: sets t0 (Ctrl+D)")
        self.dose_button.clicked.connect(self.on_dose_clicked)
        self.end_button = QPushButton("End session")
        self.end_button.clicked.connect(self.on_end_clicked)
        self.devices_button = QPushButton("Devices…")
        self.devices_button.setToolTip("Add, test or remove the serial / Bluetooth devices of this workstation")
        self.devices_button.clicked.connect(self.devices_requested)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        for b in (self.devices_button, self.new_session_button, self.dose_button, self.end_button):
            b.setMinimumHeight(40)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            buttons.addWidget(b)

        self._header_row = row = QHBoxLayout(self.header)
        row.setContentsMargins(14, 6, 14, 6)
        row.addLayout(who, 1)  # the pseudonym gets the room (up to 32 characters)
        row.addLayout(clock)
        row.addSpacing(16)
        row.addLayout(buttons)

    def _session_info(self) -> SessionInfo | None:
        s = self._core.session
        return None if s is None else s.info

    # ---- per frame -------------------------------------------------------------------------------
    @Slot(float)
    def refresh(self, now: float) -> None:
        """One frame: plots and tiles when visible; other labels at most every ``label_interval_s``
        (or at once after an event)."""
        if not self.isVisible():
            return
        self._refresh_alarms(now)
        if self.trends.isVisible():
            self.trends.refresh(now)
        if self.waveform.isVisible():
            self.waveform.refresh(now)
        if self.tiles.isVisible():
            self.tiles.refresh(now)
        mono = time.monotonic()
        if self._labels_due or mono - self._last_labels >= self._label_interval_s:
            self._last_labels = mono
            self._labels_due = False
            self._refresh_labels(now)

    def _refresh_labels(self, now: float) -> None:
        info = self._session_info()
        self._refresh_header(info, now)
        if self.status_line.isVisible():
            self.status_line.refresh(now)
        self.observations.refresh(now)
        show_wave = self.waveform.available()
        if show_wave != self.waveform.isVisible():
            self.waveform.setVisible(show_wave)
            if show_wave:
                self.waveform.refresh(now)

    def _refresh_alarms(self, now: float, lit_phase: bool = False) -> None:
        """Every frame: the banner's flash phase and countdown, and the violated tiles' flash.
        ``lit_phase`` draws the lit half of the flash (screenshots)."""
        self.alarm_bar.refresh(now, lit_phase)
        by_channel = {} if self._alarm_state is None else self._alarm_state.by_channel()
        for name, channels in TILE_CHANNELS.items():
            conds = [by_channel[c] for c in channels if c in by_channel]
            priority = max((c.priority for c in conds), default=None)
            lit = priority is not None and (lit_phase or self.alarm_bar.flasher.lit(priority))
            getattr(self.tiles, name).set_alarm(COLOURS[priority] if lit and priority is not None else None)

    def _alarm_user(self) -> str:
        info = self._session_info()
        return info.clinician if info is not None else "operator"

    @Slot()
    def open_alarm_limits(self) -> QWidget:
        """The alarm limits dialog (non-modal): preset, limits beside live values, sources."""
        from ui.alarm_limits_dialog import AlarmLimitsDialog

        dialog = AlarmLimitsDialog(self._core, self._alarm_user, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._limits_dialog = dialog
        self.place_dialog(dialog)
        dialog.show()  # non-modal: the alarm bar's buttons stay usable while it is open
        self.place_dialog(dialog)  # again, now that a window manager has framed it
        return dialog

    def _refresh_header(self, info: SessionInfo | None, now: float) -> None:
        prefix, clock, suffix = session_clock_parts(info, now)
        for label, text in ((self.clock_prefix, prefix), (self.clock_time, clock), (self.clock_suffix, suffix)):
            if label.text() != text:
                label.setText(text)
            label.setVisible(bool(text))
        if info is None:
            who = ("No session", "Press “New session…” to begin", "")
        else:
            who = (info.patient_id, info.protocol.label, f"Clinician: {info.clinician}")
        for label, text in zip((self.patient_label, self.protocol_label, self.clinician_label), who, strict=True):
            if label.text() != text:
                label.setText(text)
                label.setToolTip(text)  # the whole text, should a long pseudonym be cut
        tip = "\n".join(t for t in who if t)  # the small-screen layout hides the clinician line
        if self.patient_label.toolTip() != tip:
            self.patient_label.setToolTip(tip)
        state = None if info is None else info.state
        self.new_session_button.setEnabled(state in (None, SessionState.ENDED))
        self.dose_button.setEnabled(state is SessionState.PREPARING)
        self.end_button.setEnabled(state in (SessionState.PREPARING, SessionState.DOSED))

    def session_clock_text(self) -> str:
        """The session clock as one line of plain text, e.g. 'PRE-DOSE 00:02:10 since start' or 'T+00:38:12'."""
        parts = (self.clock_prefix.text(), self.clock_time.text(), self.clock_suffix.text())
        return " ".join(p for p in parts if p)

    # ---- events from the core --------------------------------------------------------------------
    @Slot(object)
    def on_event_received(self, event: object) -> None:
        """Notices go to the banner; anything else makes the labels refresh at the next frame."""
        if isinstance(event, AlarmState):
            self._alarm_state = event
            self.alarm_bar.on_state(event)
            self.alarm_list.on_state(event)
            self.sounder.on_state(event)
            return
        if isinstance(event, AlarmEvent):
            self.alarm_list.on_event(event)
            self.sounder.on_event(event)
            return
        if isinstance(event, TechnicalNotice):
            if not shown_as_alarm(event.key):  # the alarm bar and list show those
                self.banner.on_notice(event)
        elif isinstance(event, SessionEvent):
            if event.kind in (EventKind.SESSION_STARTED, EventKind.DOSE_GIVEN, EventKind.SESSION_ENDED):
                self.trends.mark_dirty()
            if event.kind is EventKind.SESSION_STARTED:
                self.trends.clear_markers()
            self.observations.on_event(event)
        elif not isinstance(event, DeviceStatus):
            log.warning("unexpected UI event %r", event)
        self._labels_due = True

    # ---- session actions (UI entry points: errors are shown, never raised into Qt) ---------------
    @Slot()
    def open_new_session_dialog(self) -> SessionDialog:
        """Open the (window-modal) new-session dialog; the session starts when it is accepted."""
        dialog = SessionDialog(self._clock, clinician=self._last_clinician, parent=self)
        dialog.accepted.connect(self._on_session_dialog_accepted)
        self._dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def _on_session_dialog_accepted(self) -> None:
        dialog, self._dialog = self._dialog, None
        if dialog is None:
            return
        session = dialog.session()
        dialog.deleteLater()
        if session is not None:
            self.start_session(session)

    def start_session(self, session: Session) -> bool:
        """Start ``session`` in the core; False (and the reason shown) if the core refuses."""
        try:
            info = self._core.start_session(session)
        except (ValueError, KnownError) as exc:  # refused, or the recording could not take it
            self.show_error(str(exc))
            return False
        self._last_clinician = info.clinician
        self.banner.clear()
        self.trends.mark_dirty()
        self._labels_due = True
        self.statusBar().showMessage(f"Session started for {info.patient_id}", 10_000)
        return True

    @Slot()
    def on_dose_clicked(self) -> None:
        """With a protocol template the dose is recorded with drug, route, mg and lot (REMS PMF), so
        the button opens the dose dialog; without one it marks t0 at once."""
        if self._core.template is not None:
            self.observations.open("dose")
        else:
            self.mark_dose()

    @Slot()
    def mark_dose(self) -> bool:
        """'Dose given': t0 = now. Refused (and said why) without a session or when t0 is already set."""
        try:
            info = self._core.mark_dose()
        except (ValueError, KnownError) as exc:  # refused, or the recording could not take it
            self.show_error(str(exc))
            return False
        self.trends.mark_dirty()
        self._labels_due = True
        self._refresh_labels(self._clock.now())
        t0 = time.strftime("%H:%M:%S", time.localtime(info.t0 or 0.0))
        self.statusBar().showMessage(f"Dose given at {t0}: T+ counts from now", 10_000)
        return True

    @Slot()
    def on_end_clicked(self) -> None:
        answer = QMessageBox.question(
            self,
            "End session",
            "End the session now? Monitoring of this patient stops being recorded.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.end_session()

    def end_session(self) -> bool:
        """End the running session (no confirmation: the button asks first)."""
        try:
            self._core.end_session()
        except (ValueError, KnownError) as exc:  # refused, or the recording could not take it
            self.show_error(str(exc))
            return False
        self.trends.mark_dirty()
        self._labels_due = True
        self._refresh_labels(self._clock.now())
        self.statusBar().showMessage("Session ended", 10_000)
        return True

    def show_error(self, message: str) -> None:
        """The one door for refused actions: status bar plus a non-blocking message box."""
        log.info("refused: %s", message)
        self.last_error = message
        self.statusBar().showMessage(message, 20_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Session Monitor", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # ---- misc ------------------------------------------------------------------------------------
    def set_trend_window(self, window: TrendWindow) -> None:
        self.trends.set_window(window)

    def save_screenshot(self, path: str | os.PathLike[str]) -> None:
        """Write what the window shows as PNG (documentation, incident reports)."""
        target = Path(path)
        if not target.parent.is_dir():
            raise OSError(f"cannot save screenshot to {target}: folder {target.parent} does not exist")
        self._refresh_alarms(self._clock.now(), lit_phase=True)  # a flashing alarm is pictured lit
        image = self.grab()
        self._refresh_alarms(self._clock.now())
        if not image.save(str(target), "PNG"):
            raise OSError(f"cannot save screenshot to {target}: the file could not be written (permissions? disk full?)")
