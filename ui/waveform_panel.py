"""A sweeping waveform (pleth, or ECG lead II when there is no pleth), like a bedside monitor.

Fixed x (``sweep_s`` seconds) and fixed y from the channel registry. The trace is written from left
to right by a cursor; the previous sweep stays visible to the right of the cursor after a short
erase gap. The picture is computed from the last ``sweep_s`` of the ring buffer each frame (a few
hundred samples), with x = t mod sweep_s, so it needs no state that a cleared store, a gap or a
late block could corrupt. The cursor runs ``delay_s`` behind "now" so blocks arriving a few times a
second still sweep smoothly.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QVBoxLayout, QWidget

from monitor.channels import CHANNELS
from monitor.core import LiveStore
from monitor.ring import TimeSeriesBuffer
from ui import theme

#: Without a new sample for this long the trace is blanked and "no signal" is shown.
SIGNAL_LOST_S = 3.0
#: ... and at least this long in real time, so a sped-up demo or replay does not flicker.
SIGNAL_LOST_REAL_S = 1.0


class WaveformPanel(QWidget):
    def __init__(
        self,
        store: LiveStore,
        channels: tuple[str, ...] = ("pleth", "ecg_ii"),
        sweep_s: float = 6.0,
        delay_s: float = 0.5,
        erase_s: float = 0.3,
        speed: float = 1.0,  # session seconds per real second (Clock.speed)
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._signal_lost_s = max(SIGNAL_LOST_S, SIGNAL_LOST_REAL_S * speed)
        self._channels = channels
        self._sweep_s = sweep_s
        self._delay_s = delay_s
        self._erase_s = erase_s
        self._channel: str | None = None
        self._drawn_cursor: float | None = None

        self.plots_widget = pg.GraphicsLayoutWidget()
        self.plots_widget.setBackground(theme.BACKGROUND)
        self.plots_widget.ci.setContentsMargins(2, 2, 6, 2)
        self.plot: pg.PlotItem = self.plots_widget.addPlot()
        p = self.plot
        p.disableAutoRange()
        p.setMouseEnabled(x=False, y=False)
        p.setMenuEnabled(False)
        p.hideButtons()
        p.getViewBox().setDefaultPadding(0.0)
        p.setXRange(0.0, sweep_s, padding=0.0)
        p.hideAxis("bottom")
        left = p.getAxis("left")
        left.setWidth(62)  # same as the trend axes, so the time columns line up
        left.setStyle(showValues=False)
        left.setPen(pg.mkPen(theme.BACKGROUND))
        left.setTextPen(pg.mkPen(theme.AXIS))
        self.curve = pg.PlotDataItem(pen=pg.mkPen(theme.channel_colour("pleth"), width=1), connect="finite", antialias=False)
        p.addItem(self.curve)
        vb = p.getViewBox()
        self._message = QGraphicsSimpleTextItem("", vb)
        self._message.setFont(theme.font(theme.LABEL_PX, bold=True))
        self._message.setBrush(QBrush(QColor(theme.TEXT_DIM)))
        self._message.setPos(60, 30)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plots_widget)

    @property
    def channel(self) -> str | None:
        """The channel being swept, once one has appeared."""
        return self._channel

    @property
    def message(self) -> str:
        return self._message.text()

    def available(self) -> bool:
        """Whether any of the waveform channels has a buffer (so the panel is worth showing)."""
        return self._pick() is not None

    def _pick(self) -> tuple[str, TimeSeriesBuffer] | None:
        """The preferred channel that has data; of its sources, the one with the newest sample."""
        for channel in self._channels:
            best: tuple[float, TimeSeriesBuffer] | None = None
            for _, buf in self._store.series(channel):
                last = buf.last()
                if last is not None and (best is None or last[0] > best[0]):
                    best = (last[0], buf)
            if best is not None:
                return channel, best[1]
        return None

    def _set_channel(self, channel: str) -> None:
        if channel == self._channel:
            return
        self._channel = channel
        spec = CHANNELS[channel]
        colour = theme.channel_colour(channel)
        self.curve.setPen(pg.mkPen(colour, width=1))
        self.plot.getAxis("left").setLabel(spec.label, color=colour, **{"font-size": "13px", "font-weight": "bold"})
        lo, hi = spec.display_range
        self.plot.setYRange(lo, hi, padding=0.0)

    @Slot(float)
    def refresh(self, now: float) -> None:
        """Advance the sweep to ``now - delay_s`` (or to the newest sample, whichever is earlier)."""
        picked = self._pick()
        if picked is None:
            return
        channel, buf = picked
        self._set_channel(channel)
        last = buf.last()
        if last is None:
            return
        t_last = last[0]
        if now - t_last > self._signal_lost_s:
            if self._drawn_cursor is not None:
                self.curve.setData(np.empty(0), np.empty(0))
                self._drawn_cursor = None
            self._set_message(f"no {CHANNELS[channel].label.lower()} signal")
            return
        self._set_message("")
        cursor = min(now - self._delay_s, t_last)
        if cursor == self._drawn_cursor:
            return
        self._drawn_cursor = cursor
        x, y = sweep_arrays(*buf.snapshot(since=cursor - self._sweep_s), cursor, self._sweep_s, self._erase_s)
        self.curve.setData(x, y)

    def _set_message(self, text: str) -> None:
        if self._message.text() != text:
            self._message.setText(text)


def sweep_arrays(t: np.ndarray, v: np.ndarray, cursor: float, sweep_s: float, erase_s: float) -> tuple[np.ndarray, np.ndarray]:
    """x, y of a sweep display: this sweep left of the cursor, the previous one right of the erase gap.

    A NaN separates the two parts, so ``connect='finite'`` never joins them across the gap.
    """
    phase = math.fmod(cursor, sweep_s)
    sweep_start = cursor - phase  # t of x = 0 in the current sweep
    cur = (t >= sweep_start) & (t <= cursor)
    prev = (t < sweep_start) & (t > cursor - sweep_s + erase_s)
    x = np.concatenate([t[cur] - sweep_start, [phase], t[prev] - (sweep_start - sweep_s)])
    y = np.concatenate([v[cur], [np.nan], v[prev]])
    return x, y
