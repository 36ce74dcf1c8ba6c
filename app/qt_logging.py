"""Qt's own warnings go to Python logging (and so to the log file), not loose onto stderr."""

from __future__ import annotations

import logging

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("qt")

#: Known harmless noise: the offscreen platform cannot resize windows to their size hints.
_IGNORED = ("This plugin does not support propagateSizeHints()",)
#: Categories whose warnings are only of interest when debugging: QtMultimedia probing for optional
#: backends (PipeWire, VA-API) it can do without.
_QUIET_CATEGORIES = ("qt.multimedia.symbolsresolver",)

_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if message in _IGNORED:
        return
    level = logging.DEBUG if context.category in _QUIET_CATEGORIES else _LEVELS.get(kind, logging.WARNING)
    log.log(level, "%s (%s)", message, context.category or "qt")


def install() -> None:
    qInstallMessageHandler(_handler)
