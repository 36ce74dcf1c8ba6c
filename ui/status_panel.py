"""Device status line and technical-notice banner: is the data on screen actually arriving?

The status line reads ``Core.devices()`` copies and computes "no data for N s" itself from the
last data time, so a silent device shows as silent even before the core's link watch has flagged
it. The banner keeps every active ``TechnicalNotice`` by key until an inactive notice with the same
key clears it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from monitor.core import DeviceView
from monitor.events import NoticeLevel, TechnicalNotice
from monitor.readings import LinkState
from ui import theme
from ui.tiles import duration_text

DeviceSource = Callable[[], list[DeviceView]]


def device_state_text(dev: DeviceView, now: float) -> tuple[str, str]:
    """(text, colour) for one device: 'streaming', 'no data for 45 s', 'lost: <detail>', ..."""
    silent_s = None if dev.last_data_t is None else now - dev.last_data_t
    silent = silent_s is not None and silent_s > dev.info.stale_after_s
    state = dev.state
    if state is LinkState.LOST:
        return ("lost" + (f": {dev.detail}" if dev.detail else ""), theme.STATE_BAD)
    if state is LinkState.STOPPED:
        return ("stopped", theme.STATE_STOPPED)
    if state is LinkState.NO_DATA or (state is LinkState.STREAMING and silent):
        if silent_s is None:
            return ("no data", theme.STATE_BAD)
        return (f"no data for {duration_text(silent_s)}", theme.STATE_BAD)
    if state is LinkState.CONNECTING:
        return ("connecting…", theme.STATE_PENDING)
    return ("streaming", theme.STATE_OK)


class _DeviceLabel(QLabel):
    """One device's state, elided to the room it gets, with the whole text in its tooltip: a long
    reason ("lost: connection lost: … reconnecting") must never widen the window (issue 14)."""

    def __init__(self) -> None:
        super().__init__()
        self.colour = ""
        self.full_text = ""
        self.setFont(theme.font(theme.SMALL_PX))
        self.setTextFormat(Qt.TextFormat.PlainText)

    def show_state(self, text: str, colour: str) -> None:
        if self.full_text != text:
            self.full_text = text
            self.setToolTip(text)
            self._elide()
            self.updateGeometry()
        if colour != self.colour:  # style sheets only on change
            self.colour = colour
            self.setStyleSheet(f"color: {colour};")

    def sizeHint(self) -> QSize:
        fm = self.fontMetrics()
        return QSize(fm.horizontalAdvance(self.full_text) + 4, fm.height())

    def minimumSizeHint(self) -> QSize:
        fm = self.fontMetrics()
        return QSize(min(self.sizeHint().width(), fm.horizontalAdvance("● Bedside device: no data for 00 s") + 4), fm.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, max(0, self.contentsRect().width()))
        if self.text() != shown:
            self.setText(shown)


class DeviceStatusLine(QFrame):
    """One '● label: state' entry per device, coloured by state."""

    def __init__(self, devices: DeviceSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusLine")
        self._devices = devices
        self._labels: dict[str, _DeviceLabel] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 4, 10, 4)
        self._layout.setSpacing(24)
        self._empty = QLabel("No devices connected")
        self._empty.setFont(theme.font(theme.SMALL_PX))
        self._empty.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)

    def texts(self) -> dict[str, str]:
        """The whole text per device source (what is shown, before eliding, and its tooltip)."""
        return {source: label.full_text for source, label in self._labels.items()}

    def labels(self) -> dict[str, QLabel]:
        return dict(self._labels)

    def colours(self) -> dict[str, str]:
        return {source: label.colour for source, label in self._labels.items()}

    @Slot(float)
    def refresh(self, now: float) -> None:
        devices = self._devices()
        present = {d.info.source for d in devices}
        for source in [s for s in self._labels if s not in present]:
            self._labels.pop(source).deleteLater()
        for dev in devices:
            label = self._labels.get(dev.info.source)
            if label is None:
                label = self._labels[dev.info.source] = _DeviceLabel()
                self._layout.insertWidget(self._layout.count() - 1, label)
            text, colour = device_state_text(dev, now)
            label.show_state(f"● {dev.info.label}: {text}", colour)
        self._empty.setVisible(not devices)


_NOTICE_BACKGROUND = {
    NoticeLevel.CRITICAL: theme.NOTICE_CRITICAL_BG,
    NoticeLevel.WARNING: theme.NOTICE_WARNING_BG,
    NoticeLevel.INFO: theme.NOTICE_INFO_BG,
}


class NoticeBanner(QWidget):
    """Active technical notices, most severe first; hidden when there are none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._active: dict[str, TechnicalNotice] = {}
        self._labels: list[QLabel] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(3)
        self.setVisible(False)

    @property
    def active(self) -> list[TechnicalNotice]:
        """Active notices in display order: most severe, then oldest, first."""
        return sorted(self._active.values(), key=lambda n: (-int(n.level), n.t))

    def texts(self) -> list[str]:
        return [label.text() for label in self._labels]

    @Slot(object)
    def on_notice(self, notice: TechnicalNotice) -> None:
        """Add, replace or (inactive) clear the notice with this key."""
        if notice.active:
            self._active[notice.key] = notice
        elif self._active.pop(notice.key, None) is None:
            return
        self._rebuild()

    def clear(self) -> None:
        self._active.clear()
        self._rebuild()

    def _rebuild(self) -> None:
        """Notices change rarely: rebuilding the labels is simpler than diffing them."""
        for label in self._labels:
            self._layout.removeWidget(label)
            label.deleteLater()
        self._labels = []
        for n in self.active:
            prefix = {NoticeLevel.CRITICAL: "⚠ ", NoticeLevel.WARNING: "⚠ ", NoticeLevel.INFO: "ⓘ "}[n.level]
            label = QLabel(prefix + n.message)
            label.setObjectName("notice")
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setStyleSheet(f"background: {_NOTICE_BACKGROUND[n.level]}; color: {theme.TEXT};")
            self._layout.addWidget(label)
            self._labels.append(label)
        self.setVisible(bool(self._labels))
