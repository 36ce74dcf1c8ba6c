"""The alarm limits dialog: the session's preset, every rule's limit next to the live value, the
source of each default, and limit changes validated by the engine (refusals say why). Every
accepted change is recorded by the core with who, when, old and new value before it is shown.

Roles (clinical.md requirement 24): the nurse acts as operator and may move limits within the
preset's bounds. The "responsible-organization mode" (the medical director) is entered with a name
and the workstation's PIN — set at first use, stored hashed in the workstation configuration — and
allows priority, latching and switching a limit off, and confirming the HR limits (requirement 17).
This is a guard against accidental changes, not user authentication.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.alarms import (
    AlarmPriority,
    AlarmSettingError,
    LimitRule,
    Relative,
    Role,
    WorkstationAlarmConfig,
    hash_pin,
    verify_pin,
)
from monitor.alarms.rules import message_label
from monitor.channels import CHANNELS, format_value
from monitor.core import Core
from monitor.errors import KnownError
from ui import theme

log = logging.getLogger(__name__)

COLUMNS: Final = ("Alarm", "Condition", "Limit", "Live value", "Priority", "Latching", "Source of the default")
LIMIT_COLUMN: Final = 2
PRIORITY_COLUMN: Final = 4
LATCHING_COLUMN: Final = 5
#: Columns only the responsible organization may edit (requirement 24).
RESTRICTED_COLUMNS: Final = {PRIORITY_COLUMN: "priority", LATCHING_COLUMN: "latching"}


def limit_text(rule: LimitRule) -> str:
    if rule.limit is None:
        return "off"
    value = f"{rule.limit:g}"
    if rule.relative is Relative.BASELINE_PLUS:
        return f"+{value}"
    if rule.relative is Relative.BASELINE_PERCENT:
        return f"+{value} %"
    return value


def _parse(text: str) -> float | str | None:
    """A number, None for 'off', or the text itself (the engine refuses it, saying why)."""
    t = text.strip().lstrip("+").rstrip("%").strip()
    if t.lower() in ("off", ""):
        return None
    try:
        return float(t)
    except ValueError:
        return text


def _parse_restricted(field_name: str, text: str) -> object:
    """'HIGH' → AlarmPriority.HIGH, 'yes' → True; anything else as typed (the engine says why not)."""
    t = text.strip()
    if field_name == "priority":
        return AlarmPriority[t.upper()] if t.upper() in AlarmPriority.__members__ else t
    return {"yes": True, "no": False}.get(t.lower(), t)


def _restricted_text(rule: LimitRule, column: int) -> str:
    return rule.priority.name if column == PRIORITY_COLUMN else ("yes" if rule.latching else "no")


class AlarmLimitsDialog(QDialog):
    def __init__(
        self,
        core: Core,
        user: Callable[[], str],
        parent: QWidget | None = None,
        config: WorkstationAlarmConfig | None = None,
    ) -> None:
        """``config``: the workstation's alarm configuration (PIN, HR confirmation); default the core's."""
        super().__init__(parent)
        self._core, self._user = core, user
        self._config = config if config is not None else core.alarms.config
        self._role = Role.OPERATOR
        self._ro_user = ""
        preset = core.alarms.preset()
        self.setWindowTitle(f"Alarm limits — {preset.name}")
        self.resize(1100, 520)
        self.preset_label = QLabel(f"Active preset: {preset.name}. Limits apply at once and are recorded with your name.")
        self.preset_label.setWordWrap(True)
        self.preset_label.setFont(theme.font(theme.SMALL_PX, bold=True))
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.ALARM_MEDIUM};")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(close)

        # responsible-organization mode (requirement 24) and the HR confirmation (requirement 17)
        self.mode_label = QLabel("")
        self.mode_label.setFont(theme.font(theme.SMALL_PX, bold=True))
        self.ro_name = QLineEdit()
        self.ro_name.setPlaceholderText("Name (medical director)")
        self.ro_pin = QLineEdit()
        self.ro_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.ro_pin.setPlaceholderText("PIN")
        self.ro_pin_repeat = QLineEdit()
        self.ro_pin_repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.ro_pin_repeat.setPlaceholderText("Repeat the new PIN")
        self.ro_name.setMinimumWidth(200)
        self.ro_pin_repeat.setMinimumWidth(150)
        self.ro_button = QPushButton("")
        self.ro_button.clicked.connect(self._toggle_mode)
        ro_row = QHBoxLayout()
        ro_row.addWidget(self.mode_label, 1)
        for w in (self.ro_name, self.ro_pin, self.ro_pin_repeat, self.ro_button):
            ro_row.addWidget(w)
        self.hr_label = QLabel("")
        self.hr_label.setWordWrap(True)
        self.hr_confirm_button = QPushButton("Confirm HR limits")
        self.hr_confirm_button.setToolTip(
            "The medical director confirms the HR alarm limits for this workstation (requirement 17)"
        )
        self.hr_confirm_button.clicked.connect(self.confirm_hr_limits)
        hr_row = QHBoxLayout()
        hr_row.addWidget(self.hr_label, 1)
        hr_row.addWidget(self.hr_confirm_button)

        # in a scroll area, so the dialog fits the room beside the tiles on any screen (issue 14:
        # no dialog may hide the alarm bar or the tiles)
        content = QWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        layout = QVBoxLayout(content)
        layout.addWidget(self.preset_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(hr_row)
        layout.addLayout(ro_row)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        self._show_mode()
        self._rules: list[LimitRule] = []
        self._fill()
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh_values)
        self._timer.start()

    def _fill(self) -> None:
        self._rules = list(self._core.alarms.preset().rules)
        self.table.setRowCount(len(self._rules))
        for row, rule in enumerate(self._rules):
            cells = [
                rule.label,
                f"{', '.join(message_label(c) for c in rule.channels)} {rule.comparison.value}"
                + (f" ×{rule.consecutive} consecutive" if rule.consecutive > 1 else ""),
                limit_text(rule),
                "",
                rule.priority.name,
                "yes" if rule.latching else "no",
                rule.source,
            ]
            responsible = self._role is Role.RESPONSIBLE_ORGANIZATION
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col != LIMIT_COLUMN and not (responsible and col in RESTRICTED_COLUMNS):
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if col == 6:
                    item.setToolTip(text)
                self.table.setItem(row, col, item)
        self.refresh_values()
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(6, 420)

    def rows(self) -> dict[str, tuple[str, ...]]:
        """rule id → the row's texts (tests)."""
        return {
            rule.rule_id: tuple(self.table.item(r, c).text() for c in range(len(COLUMNS))) for r, rule in enumerate(self._rules)
        }

    @Slot()
    def refresh_values(self) -> None:
        baseline = self._core.alarms.baseline()
        for row, rule in enumerate(self._rules):
            text = "--"
            for code in rule.channels:
                if code not in CHANNELS:
                    continue
                r = self._core.store.latest(code)
                if r is not None and not math.isnan(r.value):
                    text = f"{message_label(code)} {format_value(code, r.value)}"
                    break
            if rule.relative is not Relative.ABSOLUTE:
                base = [f"{message_label(c)} {format_value(c, baseline[c])}" for c in rule.channels if c in baseline]
                text += "  · baseline " + (", ".join(base) if base else "none yet")
            item = self.table.item(row, 3)
            if item.text() != text:
                item.setText(text)

    def set_limit(self, rule_id: str, text: str) -> str | None:
        """Type ``text`` into the rule's limit cell and apply; the refusal message, or None."""
        return self.set_cell(rule_id, LIMIT_COLUMN, text)

    def set_cell(self, rule_id: str, column: int, text: str) -> str | None:
        """Type ``text`` into a cell (limit, priority, latching) and apply; the refusal, or None."""
        row = next(i for i, r in enumerate(self._rules) if r.rule_id == rule_id)
        self.table.item(row, column).setText(text)
        return self.apply()

    @property
    def role(self) -> Role:
        return self._role

    def _acting_user(self) -> str:
        return self._ro_user if self._role is Role.RESPONSIBLE_ORGANIZATION else self._user()

    @Slot()
    def apply(self) -> str | None:
        """Apply every edited cell; refusals are collected, shown, and the cell is reset."""
        errors: list[str] = []
        for row, rule in enumerate(self._rules):
            edits: list[tuple[int, str, object]] = []
            text = self.table.item(row, LIMIT_COLUMN).text()
            if text != limit_text(rule):
                edits.append((LIMIT_COLUMN, "limit", _parse(text)))
            for column, field_name in RESTRICTED_COLUMNS.items():
                text = self.table.item(row, column).text()
                if text != _restricted_text(rule, column):
                    edits.append((column, field_name, _parse_restricted(field_name, text)))
            for column, field_name, value in edits:
                try:
                    self._core.alarms.change_rule(rule.rule_id, field_name, value, self._acting_user(), self._role)
                except (AlarmSettingError, KnownError) as exc:
                    errors.append(str(exc))
                    reset = limit_text(rule) if column == LIMIT_COLUMN else _restricted_text(rule, column)
                    self.table.item(row, column).setText(reset)
        self.error_label.setText("\n".join(errors))
        self._fill()
        return "\n".join(errors) or None

    # ---- responsible-organization mode -----------------------------------------------------------
    def _show_mode(self) -> None:
        responsible = self._role is Role.RESPONSIBLE_ORGANIZATION
        has_config = self._config is not None
        first_use = has_config and self._config.pin_record() is None  # type: ignore[union-attr]
        if responsible:
            self.mode_label.setText(
                f"Responsible-organization mode: {self._ro_user} — priority, latching and switching off are editable"
            )
        elif not has_config:
            self.mode_label.setText("Operator mode (this workstation keeps no responsible-organization PIN)")
        elif first_use:
            self.mode_label.setText("Operator mode. Responsible organization: set a PIN at first use")
        else:
            self.mode_label.setText("Operator mode: limits within the preset's bounds")
        for w in (self.ro_name, self.ro_pin):
            w.setVisible(has_config and not responsible)
        self.ro_pin_repeat.setVisible(bool(first_use) and not responsible)
        self.ro_button.setVisible(has_config)
        self.ro_button.setText("Leave responsible-organization mode" if responsible else "Responsible-organization mode…")
        confirmation = self._core.alarms.hr_confirmation()
        preset = self._core.alarms.preset()
        limits = "–".join(limit_text(preset.rule(r)) for r in ("hr_low", "hr_high"))
        if not has_config:
            self.hr_label.setText(f"HR limits {limits} /min")
        elif confirmation is None:
            self.hr_label.setText(
                f"HR limits {limits} /min: not yet confirmed by the medical director (no ketamine-specific source)"
            )
        else:
            self.hr_label.setText(f"HR limits confirmed by {confirmation.get('by', '?')} for this workstation")
        self.hr_confirm_button.setVisible(has_config)
        self.hr_confirm_button.setEnabled(responsible)

    @Slot()
    def _toggle_mode(self) -> None:
        if self._role is Role.RESPONSIBLE_ORGANIZATION:
            self.leave_responsible_mode()
        else:
            self.enter_responsible_mode(self.ro_name.text(), self.ro_pin.text(), self.ro_pin_repeat.text())

    def enter_responsible_mode(self, name: str, pin: str, repeat: str = "") -> str | None:
        """Switch to the responsible-organization role; at first use ``pin`` (typed twice) becomes
        the workstation's PIN. The refusal message, or None."""
        error = self._check_responsible(name, pin, repeat)
        self.ro_pin.clear()
        self.ro_pin_repeat.clear()
        if error is not None:
            self.error_label.setText(error)
            return error
        self._role, self._ro_user = Role.RESPONSIBLE_ORGANIZATION, name.strip()
        log.info("responsible-organization mode entered by %s", self._ro_user)
        self.error_label.setText("")
        self._fill()
        self._show_mode()
        return None

    def _check_responsible(self, name: str, pin: str, repeat: str) -> str | None:
        if self._config is None:
            return "this workstation keeps no alarm configuration: the responsible-organization mode is not available"
        if not name.strip():
            return "enter the name of the responsible person (medical director)"
        record = self._config.pin_record()
        if record is None:
            if pin != repeat:
                return "the two PINs differ; type the new PIN twice"
            try:
                new = hash_pin(pin)
                self._config.save_pin_record(new)
            except (AlarmSettingError, KnownError) as exc:
                return str(exc)
            return None
        if not verify_pin(pin, record):
            log.warning("responsible-organization mode: wrong PIN for %s", name.strip())
            return "wrong PIN"
        return None

    def leave_responsible_mode(self) -> None:
        self._role, self._ro_user = Role.OPERATOR, ""
        self._fill()
        self._show_mode()

    @Slot()
    def confirm_hr_limits(self) -> str | None:
        """The medical director confirms the HR limits (responsible-organization mode only)."""
        try:
            self._core.alarms.confirm_hr_limits(self._acting_user(), self._role)
        except (AlarmSettingError, KnownError) as exc:
            self.error_label.setText(str(exc))
            return str(exc)
        self.error_label.setText("")
        self._show_mode()
        return None

    def closeEvent(self, event: object) -> None:
        self._timer.stop()
        super().closeEvent(event)  # type: ignore[arg-type]
