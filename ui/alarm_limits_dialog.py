"""The alarm limits dialog: the session's preset, every rule's limit next to the live value, the
source of each default, and limit changes validated by the engine (refusals say why). Every
accepted change is recorded by the core with who, when, old and new value before it is shown."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.alarms import AlarmSettingError, LimitRule, Relative
from monitor.alarms.rules import message_label
from monitor.channels import CHANNELS, format_value
from monitor.core import Core
from monitor.errors import KnownError
from ui import theme

log = logging.getLogger(__name__)

COLUMNS: Final = ("Alarm", "Condition", "Limit", "Live value", "Priority", "Latching", "Source of the default")
LIMIT_COLUMN: Final = 2


def limit_text(rule: LimitRule) -> str:
    if rule.limit is None:
        return "off"
    value = f"{rule.limit:g}"
    if rule.relative is Relative.BASELINE_PLUS:
        return f"+{value}"
    if rule.relative is Relative.BASELINE_PERCENT:
        return f"+{value} %"
    return value


def _parse(text: str) -> float | None | str:
    """A number, None for 'off', or the text itself (the engine refuses it, saying why)."""
    t = text.strip().lstrip("+").rstrip("%").strip()
    if t.lower() in ("off", ""):
        return None
    try:
        return float(t)
    except ValueError:
        return text


class AlarmLimitsDialog(QDialog):
    def __init__(self, core: Core, user: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._core, self._user = core, user
        preset = core.alarm_preset()
        self.setWindowTitle(f"Alarm limits — {preset.name}")
        self.resize(1100, 520)
        self.preset_label = QLabel(f"Active preset: {preset.name}. Limits apply at once and are recorded with your name.")
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
        layout = QVBoxLayout(self)
        layout.addWidget(self.preset_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        self._rules: list[LimitRule] = []
        self._fill()
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.refresh_values)
        self._timer.start()

    def _fill(self) -> None:
        self._rules = list(self._core.alarm_preset().rules)
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
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col != LIMIT_COLUMN:
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
        baseline = self._core.alarm_baseline()
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
        row = next(i for i, r in enumerate(self._rules) if r.rule_id == rule_id)
        self.table.item(row, LIMIT_COLUMN).setText(text)
        return self.apply()

    @Slot()
    def apply(self) -> str | None:
        """Apply every edited limit; stop at the first refusal and show why."""
        errors: list[str] = []
        for row, rule in enumerate(self._rules):
            text = self.table.item(row, LIMIT_COLUMN).text()
            if text == limit_text(rule):
                continue
            value = _parse(text)
            try:
                self._core.change_alarm_rule(rule.rule_id, "limit", value, self._user())
            except (AlarmSettingError, KnownError) as exc:
                errors.append(str(exc))
                self.table.item(row, LIMIT_COLUMN).setText(limit_text(rule))
        self.error_label.setText("\n".join(errors))
        self._fill()
        return "\n".join(errors) or None

    def closeEvent(self, event: object) -> None:  # noqa: N802 (Qt override)
        self._timer.stop()
        super().closeEvent(event)  # type: ignore[arg-type]
