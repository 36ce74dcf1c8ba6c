"""Observations on the live screen: the checkpoint strip (due / due now / overdue / done), the action
row with hotkeys and one-tap presets, the pre-dose BP caution, and the event list with "Amend…".

The panel owns the entry dialogs. It reads the schedule from the core (``Core.schedule_status``) at
label rate and shows an observation in the list only when the core's event queue delivers it, which
happens after the recording committed it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QRect, Qt, Slot
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from monitor import observations as ob
from monitor.core import Core
from monitor.errors import KnownError
from monitor.events import EventKind, SessionEvent
from monitor.obs_kinds import SCALE_BY_KEY, SCALES
from monitor.observations import Observation, ObservationError, ObsKind
from monitor.schedule import CheckState, DoseGateState, ScheduleStatus
from monitor.session import SessionState
from ui import theme
from ui.observation_dialogs import (
    DIALOG_FOR,
    AdverseEventDialog,
    BpAckDialog,
    ChecklistDialog,
    DischargeDialog,
    DoseDialog,
    MarkerDialog,
    ObservationDialog,
    VitalsDialog,
)

log = logging.getLogger(__name__)

STATE_STYLE: dict[CheckState, str] = {
    CheckState.UPCOMING: f"color: {theme.TEXT_DIM}; border: 1px solid {theme.PANEL_BORDER};",
    CheckState.DUE_NOW: "color: #000; background: #f5e04a; font-weight: bold;",
    CheckState.OVERDUE: "color: #fff; background: #c0392b; font-weight: bold;",
    CheckState.DONE: f"color: {theme.STATE_OK}; border: 1px solid {theme.PANEL_BORDER};",
}
#: Actions: (name, button text, hotkey), in hotkey order; the scales' come from ``monitor.obs_kinds``.
ACTIONS: tuple[tuple[str, str, str], ...] = tuple(
    sorted(
        (
            ("dose", "Dose…", "F2"),
            *((s.key, s.label, s.hotkey) for s in SCALES.values()),
            ("ae", "AE…", "F6"),
            ("vitals", "Vitals…", "F7"),
            ("marker", "Note…", "F8"),
            ("checklist", "Pre-dose…", "F9"),
            ("discharge", "Discharge…", "F10"),
        ),
        key=lambda action: int(action[2][1:]),
    )
)
#: The dialogs opened by name that are not scales (a scale's dialog is ``DIALOG_FOR[its kind]``).
_DIALOG_NAMED: dict[str, type[ObservationDialog]] = {
    "ae": AdverseEventDialog,
    "vitals": VitalsDialog,
    "marker": MarkerDialog,
    "checklist": ChecklistDialog,
}
#: One-tap presets (kind, text), recorded at once at "now" by the session's clinician.
PRESETS: tuple[tuple[ObsKind, str, str], ...] = (
    (ObsKind.THERAPY, "EMDR set started", "Ctrl+E"),
    (ObsKind.THERAPY, "EMDR set ended", "Ctrl+Shift+E"),
    (ObsKind.INTERVENTION, "Oxygen applied", "Ctrl+O"),
    (ObsKind.PHASE, "peak", "Ctrl+P"),
    (ObsKind.PHASE, "integration", ""),
    (ObsKind.PHASE, "recovery", ""),
    (ObsKind.THERAPY, "Imagery rescripting", ""),
    (ObsKind.THERAPY, "Parts work (IFS)", ""),
    (ObsKind.INTERVENTION, "Antiemetic given", ""),
)


def _mm_ss_from(t: float | None, t0: float | None) -> str:
    if t is None or t0 is None:
        return time.strftime("%H:%M:%S", time.localtime(t or 0.0))
    d = int(t - t0)
    sign = "-" if d < 0 else "+"
    d = abs(d)
    return f"T{sign}{d // 60:d}:{d % 60:02d}"


class EventList(QWidget):
    """Observations in clinical-time order; amendments shown under their original (never replacing it)."""

    def __init__(self, on_amend: Callable[[Observation], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._on_amend = on_amend
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.list.setWordWrap(True)
        self.list.setStyleSheet(
            f"QListWidget {{ background: {theme.PANEL}; color: {theme.TEXT}; border: 1px solid {theme.PANEL_BORDER}; }}"
        )
        self.list.itemActivated.connect(lambda _i: self.amend_selected())
        self.amend_button = QPushButton("Amend…")
        self.amend_button.setToolTip("Correct the selected entry: a new record with your name and a reason; the original stays")
        self.amend_button.clicked.connect(self.amend_selected)
        head = QHBoxLayout()
        title = QLabel("Observations")
        title.setStyleSheet(f"color: {theme.TEXT_DIM};")
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.amend_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.list, 1)
        self._obs: dict[str, Observation] = {}

    def clear(self) -> None:
        self.list.clear()
        self._obs.clear()

    def add(self, obs: Observation, t0: float | None) -> None:
        self._obs[obs.obs_id] = obs
        when = _mm_ss_from(obs.t, t0)
        if obs.amends is not None:
            text = f"   ↳ amended {when}: {ob.describe(obs)} — {obs.author} (reason: {obs.reason})"
            row = self._row_after(obs.amends)
        else:
            text = f"{when}  {ob.describe(obs)} — {obs.author}"
            row = self._row_for_time(obs.t)
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, obs.obs_id)
        if obs.data.get("warnings") or obs.data.get("serious") or obs.data.get("dissociation"):
            item.setForeground(Qt.GlobalColor.yellow)
        self.list.insertItem(row, item)

    def _row_for_time(self, t: float) -> int:
        for row in range(self.list.count()):
            other = self._obs.get(self.list.item(row).data(Qt.ItemDataRole.UserRole))
            if other is not None and other.amends is None and other.t > t:
                return row
        return self.list.count()

    def _row_after(self, root: str) -> int:
        last = self.list.count()
        for row in range(self.list.count()):
            o = self._obs.get(self.list.item(row).data(Qt.ItemDataRole.UserRole))
            if o is not None and (o.obs_id == root or o.amends == root):
                last = row + 1
        return last

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def selected(self) -> Observation | None:
        item = self.list.currentItem()
        return None if item is None else self._obs.get(item.data(Qt.ItemDataRole.UserRole))

    @Slot()
    def amend_selected(self) -> None:
        obs = self.selected()
        if obs is not None:
            self._on_amend(obs)


class ChipStrip(QWidget):
    """The checkpoint chips in rows: as many per row as fit, the rest on the next row, so every
    checkpoint is seen whole at any window width; its height follows the rows it needs."""

    SPACING = 4

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._chips: list[QLabel] = []
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(26)

    def set_chips(self, chips: list[QLabel]) -> None:
        self._chips = chips
        self._arrange()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        x = y = row_h = 0
        width = max(1, self.width())
        for chip in self._chips:
            hint = chip.sizeHint()
            w = min(hint.width(), width)
            if x > 0 and x + w > width:
                x, y = 0, y + row_h + self.SPACING
                row_h = 0
            chip.setGeometry(QRect(x, y, w, hint.height()))
            x += w + self.SPACING
            row_h = max(row_h, hint.height())
        height = max(26, y + row_h)
        if self.height() != height:
            self.setFixedHeight(height)


class ObservationPanel(QWidget):
    """The strip of checkpoints and the row of observation actions (one line under the header)."""

    def __init__(
        self, core: Core, shortcut_parent: QWidget, on_error: Callable[[str], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._clock = core.clock
        self._on_error = on_error
        self._host = shortcut_parent
        self.dialog: ObservationDialog | None = None
        self.last_status: ScheduleStatus | None = None
        self._shown_chip = -1
        self.events = EventList(self.open_amend)
        self.on_saved: Callable[[Observation], None] = lambda _o: None

        self.chips: list[QLabel] = []
        self.caution_button = QPushButton()
        self.caution_button.setStyleSheet(f"background: {theme.ORANGE}; color: #000; font-weight: bold;")
        self.caution_button.setVisible(False)
        self.caution_button.clicked.connect(self.open_bp_ack)
        # chips wrap onto further rows rather than run off a small screen or widen the window
        self.strip_host = ChipStrip()

        actions = QHBoxLayout()
        actions.setSpacing(4)
        self.buttons: dict[str, QPushButton] = {}
        self._button_texts: dict[str, tuple[str, str]] = {}
        for name, text, key in ACTIONS:
            b = QPushButton(f"{text} [{key}]")
            self._button_texts[name] = (f"{text} [{key}]", text)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            b.clicked.connect(lambda _=False, n=name: self.open(n))
            self.buttons[name] = b
            actions.addWidget(b)
            sc = QShortcut(QKeySequence(key), shortcut_parent)
            sc.activated.connect(lambda n=name: self.open(n))
        self.presets_button = QToolButton()
        self.presets_button.setText("Presets ▾")
        self.presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.presets_button)
        for kind, text, key in PRESETS:
            act = menu.addAction(f"{kind.value.title()}: {text}" + (f"  [{key}]" if key else ""))
            if key:
                sc = QShortcut(QKeySequence(key), shortcut_parent)
                sc.activated.connect(lambda k=kind, t=text: self.preset(k, t))
            act.triggered.connect(lambda _=False, k=kind, t=text: self.preset(k, t))
        self.presets_button.setMenu(menu)
        actions.addWidget(self.presets_button)
        actions.addStretch(1)
        actions.addWidget(self.caution_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.strip_host)
        layout.addLayout(actions)
        self.refresh(self._clock.now())

    def set_compact(self, compact: bool) -> None:
        """Small screens: the action buttons without their hotkeys (the tooltip says it)."""
        for name, b in self.buttons.items():
            full, short = self._button_texts[name]
            b.setText(short if compact else full)
            if compact and not b.toolTip():
                b.setToolTip(full)

    # ---- per label refresh -----------------------------------------------------------------------
    def refresh(self, now: float) -> None:
        """Checkpoint chips, the caution button and which actions are enabled (~4 Hz)."""
        s = self._core.session
        info = None if s is None else s.info
        running = info is not None and info.state is not SessionState.ENDED
        for b in self.buttons.values():
            b.setEnabled(running)
        self.presets_button.setEnabled(running)
        status = self._core.schedule_status(now) if running else None
        self.last_status = status
        chips = [] if status is None else list(status.checkpoints)
        while len(self.chips) < len(chips):
            chip = QLabel(self.strip_host)
            chip.setContentsMargins(6, 1, 6, 1)
            self.chips.append(chip)
        for i, chip in enumerate(self.chips):
            if i >= len(chips):
                chip.setVisible(False)
                continue
            c = chips[i]
            text = f"{c.label} · {c.state.value}"
            if chip.text() != text:
                chip.setText(text)
                chip.setStyleSheet(STATE_STYLE[c.state])
                chip.setToolTip(c.checkpoint.source)
            chip.setVisible(True)
        self.strip_host.set_chips(self.chips[: len(chips)])
        self.strip_host.setVisible(bool(chips))
        if status is not None:
            self.buttons["discharge"].setToolTip("\n".join(status.discharge.reasons) or "Discharge allowed")
        gate = None
        if running and info is not None and info.t0 is None:
            gate = self._core.dose_gate()
        show = gate is not None and gate.state is DoseGateState.NEED_ACK and gate.bp is not None
        if show and gate is not None and gate.bp is not None:
            self.caution_button.setText(f"BP {gate.bp.sys:g}/{gate.bp.dia:g} above caution — prescriber acknowledge…")
        self.caution_button.setVisible(show)

    def prompts(self) -> list[str]:
        """Labels of what is due now or overdue (for tests and the demo)."""
        return [] if self.last_status is None else [p.label for p in self.last_status.prompts]

    # ---- events ------------------------------------------------------------------------------------
    def on_event(self, event: SessionEvent) -> None:
        """An observation the core committed: into the list (and to the trend markers)."""
        if event.kind is EventKind.SESSION_STARTED:
            self.events.clear()
            return
        if event.kind not in (EventKind.OBSERVATION, EventKind.AMENDMENT):
            return
        obs = Observation.from_record(event.t, event.data)
        s = self._core.session
        self.events.add(obs, None if s is None else s.info.t0)
        self.on_saved(obs)

    # ---- actions -----------------------------------------------------------------------------------
    def _author(self) -> str:
        s = self._core.session
        return "" if s is None else s.info.clinician

    def _submit(self, obs: Observation) -> tuple[str, ...]:
        res = self._core.record_observation(obs)
        if res.warnings:
            self._on_error("Saved, with a warning: " + "; ".join(res.warnings))
        return res.warnings

    def open(self, name: str, original: Observation | None = None) -> ObservationDialog | None:
        """Open the entry dialog ``name`` (non-blocking); None if no session is running."""
        s = self._core.session
        if s is None or s.info.ended is not None:
            self._on_error("no session is running: start a new session first")
            return None
        args = (self._clock, self._author(), self._submit)
        kw: dict[str, object] = {"original": original, "parent": self._host}
        dialog: ObservationDialog
        if name == "dose":
            devices = [o for o in self._core.observations.current(ObsKind.DOSE)]
            dialog = DoseDialog(*args, template=self._core.template, next_device=min(3, len(devices) + 1), **kw)
        elif name == "discharge":
            status = self._core.schedule_status()
            t0 = s.info.t0
            reasons = (
                status.discharge.reasons if status is not None else (() if t0 is not None else ("no dose has been given yet",))
            )
            minutes = None if t0 is None else (self._clock.now() - t0) / 60.0
            dialog = DischargeDialog(*args, reasons=reasons, minutes_from_t0=minutes, **kw)
        else:
            scale = SCALE_BY_KEY.get(name)
            cls = DIALOG_FOR[scale.kind] if scale is not None else _DIALOG_NAMED[name]
            dialog = cls(*args, **kw)
        return self._show(dialog)

    def _show(self, dialog: ObservationDialog) -> ObservationDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def open_bp_ack(self) -> ObservationDialog | None:
        s = self._core.session
        tpl = self._core.template
        if s is None or tpl is None:
            return None
        gate = self._core.dose_gate()
        if gate.bp is None:
            return None
        dialog = BpAckDialog(
            self._clock,
            "",
            self._submit,
            sys=gate.bp.sys,
            dia=gate.bp.dia,
            threshold=f"{tpl.caution_sys:g}/{tpl.caution_dia:g}",
            parent=self._host,
        )
        return self._show(dialog)

    def open_amend(self, original: Observation) -> ObservationDialog | None:
        cls = DIALOG_FOR.get(original.kind)
        if cls is None:
            self._on_error(
                f"a {original.kind.value.replace('_', ' ')} entry cannot be amended: add a note that says what is wrong"
            )
            return None
        scale = SCALES.get(original.kind)
        name = scale.key if scale is not None else {cls: name for name, cls in _DIALOG_NAMED.items()}.get(cls, "dose")
        root = self._core.observations.get(original.amends) if original.amends else original
        return self.open(name, original=root or original)

    def preset(self, kind: ObsKind, text: str) -> bool:
        """One tap: record a common marker now, as the session's clinician."""
        s = self._core.session
        if s is None:
            self._on_error("no session is running: start a new session first")
            return False
        now = self._clock.now()
        try:
            if kind is ObsKind.PHASE:
                obs = ob.phase(now, self._author(), text)
            else:
                obs = {ObsKind.THERAPY: ob.therapy, ObsKind.INTERVENTION: ob.intervention}[kind](now, self._author(), text)
            self._core.record_observation(obs)
        except (ObservationError, ValueError, KnownError) as exc:
            self._on_error(str(exc))
            return False
        return True
