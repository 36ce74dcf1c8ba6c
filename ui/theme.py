"""Colours, fonts and the style sheet of the live dashboard, in one place.

A dark background like a bedside monitor, so the coloured numerics carry the eye from across the
room. Channel colours follow bedside-monitor convention (ECG/HR green, SpO2 cyan, pressures red,
respiration yellow). The IEC 60601-1-8 alarm colours (red / yellow / cyan) are named here so the
alarm work can use them; a channel colour is never reused to mean an alarm.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtGui import QColor, QFont

# ---- surfaces -----------------------------------------------------------------------------------
BACKGROUND: Final = "#000000"
PANEL: Final = "#0b0e12"
PANEL_BORDER: Final = "#1f262e"
GRID: Final = "#2a323b"
AXIS: Final = "#8a95a0"
TEXT: Final = "#e6e9ec"
TEXT_DIM: Final = "#8a95a0"
TEXT_STALE: Final = "#5c6570"  # greyed-out value (old NIBP, silent device)
BUTTON: Final = "#1c232b"
BUTTON_HOVER: Final = "#27313b"
BUTTON_DISABLED_TEXT: Final = "#4d5660"
DOSE_LINE: Final = "#f2f2f2"

# ---- channels -----------------------------------------------------------------------------------
GREEN: Final = "#3ee06a"
CYAN_CHANNEL: Final = "#34d6f0"
RED_CHANNEL: Final = "#ff5a5a"
WHITE: Final = "#f2f2f2"
YELLOW_CHANNEL: Final = "#f5e04a"
ORANGE: Final = "#ff9f43"

CHANNEL_COLOURS: Final[dict[str, str]] = {
    "hr": GREEN,
    "pr": "#9df0b4",  # a lighter green, so HR and PR can be told apart on one trend
    "ecg_ii": GREEN,
    "spo2": CYAN_CHANNEL,
    "pleth": CYAN_CHANNEL,
    "nibp_sys": RED_CHANNEL,
    "nibp_dia": RED_CHANNEL,
    "nibp_map": WHITE,
    "abp_sys": RED_CHANNEL,
    "abp_dia": RED_CHANNEL,
    "abp_map": WHITE,
    "abp": RED_CHANNEL,
    "rr": YELLOW_CHANNEL,
    "temp": ORANGE,
}


def channel_colour(code: str) -> str:
    """The channel's colour; plain text colour for a channel nobody gave one."""
    return CHANNEL_COLOURS.get(code, TEXT)


# ---- link states and technical notices ----------------------------------------------------------
STATE_OK: Final = "#3ee06a"
STATE_PENDING: Final = "#c9d1d9"
STATE_BAD: Final = "#ff4d4d"
STATE_STOPPED: Final = "#6b7580"
NOTICE_CRITICAL_BG: Final = "#8c1c1c"
NOTICE_WARNING_BG: Final = "#7a5a10"
NOTICE_INFO_BG: Final = "#1d3a55"

# ---- IEC 60601-1-8 alarm colours: reserved for the alarm system ---------------------------------
ALARM_HIGH: Final = "#ff0000"  # red, flashing 2.0 Hz
ALARM_MEDIUM: Final = "#ffff00"  # yellow, flashing 0.6 Hz
ALARM_LOW: Final = "#00ffff"  # cyan, steady

# ---- fonts --------------------------------------------------------------------------------------
#: First installed family wins; DejaVu is on every Debian machine, the others look better when present.
FONT_FAMILIES: Final = ["Inter", "Segoe UI", "Noto Sans", "DejaVu Sans"]
NUMERIC_FAMILIES: Final = ["Roboto Condensed", "Arial Narrow", "DejaVu Sans Condensed", "DejaVu Sans"]

VALUE_MIN_PX: Final = 56  # main numerics never smaller: readable from 3 m (>= 48 px)
VALUE_MAX_PX: Final = 150
CLOCK_PX: Final = 46
LABEL_PX: Final = 22
SMALL_PX: Final = 15


def font(px: int, bold: bool = False, numeric: bool = False) -> QFont:
    """A font of ``px`` pixels (pixels, not points: the 3 m rule is about size on screen)."""
    f = QFont()
    f.setFamilies(NUMERIC_FAMILIES if numeric else FONT_FAMILIES)
    f.setPixelSize(px)
    f.setBold(bold)
    return f


def qcolor(hex_colour: str) -> QColor:
    return QColor(hex_colour)


STYLE_SHEET: Final = f"""
QMainWindow, QWidget#dashboard {{ background: {BACKGROUND}; }}
QWidget {{ color: {TEXT}; }}
QTabWidget::pane {{ border: 1px solid {PANEL_BORDER}; background: {PANEL}; }}
QTabBar::tab {{ background: {PANEL}; color: {TEXT_DIM}; border: 1px solid {PANEL_BORDER}; padding: 4px 12px; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom-color: {PANEL}; }}
QFrame#tile, QFrame#header, QFrame#statusLine {{
    background: {PANEL}; border: 1px solid {PANEL_BORDER}; border-radius: 4px;
}}
QFrame#tile QLabel, QFrame#header QLabel, QFrame#statusLine QLabel {{ background: transparent; border: none; }}
QPushButton, QToolButton {{
    background: {BUTTON}; color: {TEXT}; border: 1px solid {PANEL_BORDER}; border-radius: 4px;
    padding: 6px 14px; font-size: 15px;
}}
QPushButton:hover, QToolButton:hover {{ background: {BUTTON_HOVER}; }}
QPushButton:disabled, QToolButton:disabled {{ color: {BUTTON_DISABLED_TEXT}; }}
QPushButton#doseButton:enabled {{ background: #0f5132; border-color: #1f8a57; font-weight: bold; }}
QToolButton:checked {{ background: #2f3d4c; border-color: #5b7088; }}
QStatusBar {{ background: {PANEL}; color: {TEXT_DIM}; }}
QLabel#notice {{ padding: 6px 10px; border-radius: 4px; font-size: 17px; font-weight: bold; }}
QDialog {{ background: {PANEL}; }}
QLineEdit, QComboBox {{
    background: {BACKGROUND}; color: {TEXT}; border: 1px solid {PANEL_BORDER}; padding: 4px; font-size: 15px;
}}
"""
