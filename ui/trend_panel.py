"""Stacked trend plots (HR/PR, SpO2, BP, RR) on one shared time axis, x = minutes before now.

All rows live in ONE ``GraphicsLayoutWidget`` (house style §5.7). Ranges are fixed: y from the
channel registry, x = [-window, 0], autorange and the mouse off. Curves are fed from ring-buffer
snapshots at frame rate, and only when something changed: a buffer got new samples
(``total_appended``) or "now" moved by at least one pixel of the time axis, so a quiet frame costs
a few comparisons. NIBP is episodic and drawn as markers (sys ▼, dia ▲, a sys–dia bar, mean -),
continuous arterial pressure as lines. NaN draws as a gap.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from monitor.channels import CHANNELS, NIBP_CHANNELS
from monitor.core import LiveStore
from monitor.ring import TimeSeriesBuffer
from monitor.session import SessionInfo
from ui import theme

log = logging.getLogger(__name__)

SessionSource = Callable[[], SessionInfo | None]


class TrendWindow(enum.Enum):
    """How much history the trends show; ``seconds`` is 0 for "since the session started"."""

    MIN_5 = ("5 min", 300.0)
    MIN_30 = ("30 min", 1800.0)
    SESSION = ("Session", 0.0)

    @property
    def label(self) -> str:
        return self.value[0]

    @property
    def seconds(self) -> float:
        return self.value[1]


#: Whole-session view when there is no session yet: as much as the buffers hold, at least this.
MIN_WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class TrendRow:
    title: str
    unit: str
    lines: tuple[str, ...]  # channels drawn as lines, one curve per source
    range_channel: str  # whose registry display_range is the y scale
    ticks: tuple[float, ...]
    nibp: bool = False  # draw the episodic NIBP markers in this row


ROWS: tuple[TrendRow, ...] = (
    TrendRow("HR/PR", "/min", ("hr", "pr"), "hr", (50, 100, 150, 200)),
    TrendRow("SpO₂", "%", ("spo2",), "spo2", (60, 70, 80, 90, 100)),
    TrendRow("BP", "mmHg", ("abp_sys", "abp_dia", "abp_map"), "nibp_sys", (80, 120, 160, 200, 240), nibp=True),
    TrendRow("RR", "/min", ("rr",), "rr", (10, 20, 30, 40)),
)

_AXIS_WIDTH_PX = 62  # tick values plus the rotated row title


def _pen(colour: str) -> QPen:
    return pg.mkPen(colour, width=1)  # width 1: wider pens are several times slower (§5.6)


class _Curve:
    """One line curve for one (channel, source) buffer; remembers what it last drew."""

    def __init__(self, plot: pg.PlotItem, channel: str, buf: TimeSeriesBuffer) -> None:
        self.buf = buf
        self.drawn_total = -1
        self.item = pg.PlotDataItem(pen=_pen(theme.channel_colour(channel)), connect="finite", antialias=False)
        plot.addItem(self.item)  # first: PlotItem.addItem overwrites clip/downsampling with the plot's own
        self.item.setClipToView(True)
        self.item.setDownsampling(auto=True, method="peak")  # peak keeps clinical spikes
        # pyqtgraph keeps ~5 samples per pixel by default; peak already keeps each pixel column's min
        # and max, so one bin per pixel loses nothing visible and draws ~5x fewer vertices.
        self.item.opts["autoDownsampleFactor"] = 1.0

    def update(self, ref: float, force: bool) -> bool:
        total = self.buf.total_appended
        if not force and total == self.drawn_total:
            return False
        t, v = self.buf.snapshot()
        self.item.setData((t - ref) / 60.0, v)
        self.drawn_total = total
        return True


class _NibpMarkers:
    """Cuff readings as markers: sys ▼ above a thin sys–dia bar, dia ▲ below, mean as a short dash."""

    def __init__(self, plot: pg.PlotItem) -> None:
        red = theme.channel_colour("nibp_sys")
        self.bar = pg.PlotDataItem(pen=_pen(red), connect="pairs", antialias=False)
        self.sys = pg.PlotDataItem(pen=None, symbol="t", symbolSize=11, symbolPen=None, symbolBrush=QBrush(QColor(red)))
        self.dia = pg.PlotDataItem(pen=None, symbol="t1", symbolSize=11, symbolPen=None, symbolBrush=QBrush(QColor(red)))
        white = theme.channel_colour("nibp_map")
        self.map = pg.PlotDataItem(pen=None, symbol="_", symbolSize=12, symbolPen=None, symbolBrush=QBrush(QColor(white)))
        for item in (self.bar, self.sys, self.dia, self.map):
            plot.addItem(item)
            # A few points only; clipping could split a sys-dia pair and downsampling would move markers.
            item.setClipToView(False)
            item.setDownsampling(ds=1, auto=False)
        self.drawn_key: tuple[object, ...] = ()

    def update(self, store: LiveStore, ref: float, force: bool) -> bool:
        buffers = {ch: store.series(ch) for ch in NIBP_CHANNELS}
        # the buffers themselves, not their ids: a cleared store's buffers are compared by identity
        key = tuple((ch, src, buf, buf.total_appended) for ch, lst in buffers.items() for src, buf in lst)
        if not force and key == self.drawn_key:
            return False
        self.drawn_key = key
        data = {ch: _concat([buf.snapshot() for _, buf in lst]) for ch, lst in buffers.items()}
        (ts, vs), (td, vd), (tm, vm) = data["nibp_sys"], data["nibp_dia"], data["nibp_map"]
        for item, t, v in ((self.sys, ts, vs), (self.dia, td, vd), (self.map, tm, vm)):
            ok = np.isfinite(v)  # an INVALID cuff cycle has no marker (and NaN upsets scatter bounds)
            item.setData((t[ok] - ref) / 60.0, v[ok])
        bx, by = _sys_dia_pairs(ts, vs, td, vd)
        self.bar.setData((bx - ref) / 60.0, by)
        return True


def _concat(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """All sources of one episodic channel as one time-ordered series (a handful of points)."""
    if not parts:
        return np.empty(0), np.empty(0)
    t = np.concatenate([p[0] for p in parts])
    v = np.concatenate([p[1] for p in parts])
    order = np.argsort(t, kind="stable")
    return t[order], v[order]


def _sys_dia_pairs(ts: np.ndarray, vs: np.ndarray, td: np.ndarray, vd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y for connect='pairs': one vertical segment per cuff reading that has both sys and dia."""
    if len(ts) == 0 or len(td) == 0:
        return np.empty(0), np.empty(0)
    i = np.clip(np.searchsorted(td, ts), 0, len(td) - 1)
    j = np.clip(i - 1, 0, len(td) - 1)
    nearest = np.where(np.abs(td[j] - ts) < np.abs(td[i] - ts), j, i)
    ok = (np.abs(td[nearest] - ts) < 30.0) & np.isfinite(vs) & np.isfinite(vd[nearest])
    x = np.repeat(ts[ok], 2)
    y = np.empty(2 * int(ok.sum()))
    y[0::2] = vs[ok]
    y[1::2] = vd[nearest[ok]]
    return x, y


class _Row:
    """One PlotItem with its curves, markers and dose line."""

    def __init__(self, plot: pg.PlotItem, spec: TrendRow, bottom_axis: bool) -> None:
        self.plot = plot
        self.spec = spec
        self.curves: dict[tuple[str, str], _Curve] = {}
        self.nibp = _NibpMarkers(plot) if spec.nibp else None
        lo, hi = CHANNELS[spec.range_channel].display_range
        vb = plot.getViewBox()
        plot.disableAutoRange()
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        vb.setDefaultPadding(0.0)
        pad = 0.09 * (hi - lo)  # room above the top tick, or the axis hides its label
        plot.setYRange(lo, hi + pad, padding=0.0)
        plot.setXRange(-TrendWindow.MIN_30.seconds / 60.0, 0.0, padding=0.0)
        plot.showGrid(x=True, y=True, alpha=0.35)
        left = plot.getAxis("left")
        left.setWidth(_AXIS_WIDTH_PX)
        left.setTicks([[(v, f"{v:g}") for v in spec.ticks], []])
        bottom = plot.getAxis("bottom")
        bottom.setStyle(maxTickLevel=0)  # the x grid at major ticks only: minor grid lines cost ~3 ms a frame
        if bottom_axis:
            bottom.setLabel("minutes before now", color=theme.AXIS)
        else:
            bottom.setStyle(showValues=False)
            bottom.setHeight(0)
        for axis in (left, bottom):
            axis.setPen(_pen(theme.GRID))
            axis.setTextPen(_pen(theme.AXIS))
        colour = theme.channel_colour(spec.lines[0])  # after setTextPen, which resets the label colour
        left.setLabel(f"{spec.title} {spec.unit}", color=colour, **{"font-size": "13px", "font-weight": "bold"})
        dashed = pg.mkPen(theme.DOSE_LINE, width=1, style=Qt.PenStyle.DashLine)
        self.dose_line = pg.InfiniteLine(angle=90, movable=False, pen=dashed)
        self.dose_line.setVisible(False)
        plot.addItem(self.dose_line, ignoreBounds=True)

    def curve_items(self) -> dict[tuple[str, str], pg.PlotDataItem]:
        return {key: c.item for key, c in self.curves.items()}

    def update(self, store: LiveStore, ref: float, force: bool) -> None:
        seen: set[tuple[str, str]] = set()
        for channel in self.spec.lines:
            for source, buf in store.series(channel):
                key = (channel, source)
                seen.add(key)
                curve = self.curves.get(key)
                if curve is None or curve.buf is not buf:  # new source, or the store was cleared
                    if curve is not None:
                        self.plot.removeItem(curve.item)
                    curve = self.curves[key] = _Curve(self.plot, channel, buf)
                curve.update(ref, force)
        for key in [k for k in self.curves if k not in seen]:  # source gone (new session)
            self.plot.removeItem(self.curves.pop(key).item)
        if self.nibp is not None:
            self.nibp.update(store, ref, force)


class TrendPanel(QWidget):
    """The trend column: a window selector above one GraphicsLayoutWidget of stacked rows."""

    window_changed = Signal(object)  # TrendWindow

    def __init__(self, store: LiveStore, session: SessionSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._session = session
        self._window = TrendWindow.MIN_30
        self._drawn_ref: float | None = None  # the "now" the x data were computed for
        self._drawn_window_s = 0.0
        self._dirty = True
        self._oldest_cache: tuple[float | None, float | None] = (None, None)  # (looked up at, oldest t)
        self.markers: list[tuple[float, str, list[pg.InfiniteLine]]] = []  # observations: (t, label, one line per row)

        self.plots_widget = pg.GraphicsLayoutWidget()
        self.plots_widget.setBackground(theme.BACKGROUND)
        self.plots_widget.ci.setSpacing(0)
        self.plots_widget.ci.setContentsMargins(2, 2, 6, 2)
        self.rows: list[_Row] = []
        for i, spec in enumerate(ROWS):
            plot = self.plots_widget.addPlot(row=i, col=0)
            self.rows.append(_Row(plot, spec, bottom_axis=i == len(ROWS) - 1))
        bottom_plot = self.rows[-1].plot
        for row in self.rows[:-1]:
            row.plot.setXLink(bottom_plot)  # one shared time axis
        self.rows[0].dose_line.label = pg.InfLineLabel(
            self.rows[0].dose_line, text="DOSE", position=0.92, anchors=[(0, 0.5), (0, 0.5)], color=theme.DOSE_LINE
        )

        selector = QHBoxLayout()
        selector.setContentsMargins(4, 0, 4, 0)
        caption = QLabel("Trend")
        caption.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 14px;")
        selector.addWidget(caption)
        self._buttons = QButtonGroup(self)
        self._buttons.setExclusive(True)
        self.window_buttons: dict[TrendWindow, QToolButton] = {}
        for w in TrendWindow:
            b = QToolButton()
            b.setText(w.label)
            b.setCheckable(True)
            b.setChecked(w is self._window)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self._buttons.addButton(b)
            self.window_buttons[w] = b
            selector.addWidget(b)
        self._buttons.buttonClicked.connect(self._on_window_button_clicked)
        selector.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(selector)
        layout.addWidget(self.plots_widget, 1)

    # ---- window ----
    @property
    def window(self) -> TrendWindow:
        return self._window

    def set_window(self, window: TrendWindow) -> None:
        """Show 5 min, 30 min or the whole session; takes effect at the next refresh."""
        if window is self._window:
            return
        self._window = window
        self.window_buttons[window].setChecked(True)
        self._dirty = True
        self.window_changed.emit(window)

    @Slot(object)
    def _on_window_button_clicked(self, button: QToolButton) -> None:
        for w, b in self.window_buttons.items():
            if b is button:
                self.set_window(w)

    def x_range(self) -> tuple[float, float]:
        """The visible x range in minutes (what the nurse sees), for tests and the debug overlay."""
        (x0, x1), _ = self.rows[-1].plot.getViewBox().viewRange()
        return x0, x1

    def window_seconds(self, now: float) -> float:
        """The span shown: fixed for 5/30 min, since the session started (or the oldest data) for SESSION."""
        if self._window.seconds > 0:
            return self._window.seconds
        info = self._session()
        if info is not None:
            return max(MIN_WINDOW_S, now - info.started)
        oldest = self._oldest_sample_t(now)
        return max(MIN_WINDOW_S, now - oldest) if oldest is not None else TrendWindow.MIN_30.seconds

    def _oldest_sample_t(self, now: float) -> float | None:
        """Oldest trend sample (no session: show what the buffers hold). Finding it copies whole
        buffers, so it is looked up at most every 10 s of session time."""
        cached_at, oldest = self._oldest_cache
        if cached_at is not None and 0 <= now - cached_at < 10.0:
            return oldest
        starts = [
            float(t[0]) for ch in ("hr", "pr", "spo2", "rr") for _, buf in self._store.series(ch) if len(t := buf.snapshot()[0])
        ]
        oldest = min(starts) if starts else None
        self._oldest_cache = (now, oldest)
        return oldest

    # ---- per frame ----
    def curves(self) -> dict[tuple[str, str], pg.PlotDataItem]:
        """Every line curve by (channel, source), for tests."""
        out: dict[tuple[str, str], pg.PlotDataItem] = {}
        for row in self.rows:
            out.update(row.curve_items())
        return out

    @Slot(float)
    def refresh(self, now: float) -> None:
        """Redraw what changed; re-base x on ``now`` once it moved by a pixel or the window changed."""
        window_s = self.window_seconds(now)
        width_px = max(1.0, self.rows[-1].plot.getViewBox().width())
        px_s = window_s / width_px
        ref = self._drawn_ref
        force = ref is None or self._dirty or abs(now - ref) >= px_s or abs(window_s - self._drawn_window_s) >= px_s
        if ref is None or force:
            ref = self._drawn_ref = now
            self._drawn_window_s = window_s
            self._dirty = False
            self.rows[-1].plot.setXRange(-window_s / 60.0, 0.0, padding=0.0)
        for row in self.rows:
            row.update(self._store, ref, force)
        if force:
            info = self._session()
            t0 = info.t0 if info is not None else None
            for row in self.rows:
                row.dose_line.setVisible(t0 is not None)
                if t0 is not None:
                    row.dose_line.setValue((t0 - ref) / 60.0)
            for t, _, lines in self.markers:
                for line in lines:
                    line.setValue((t - ref) / 60.0)

    def add_marker(self, t: float, text: str) -> None:
        """An observation on the time axis: a thin dotted line through every row, its short label
        in the top row (positions follow "now" like the dose line)."""
        pen = pg.mkPen(theme.TEXT_DIM, width=1, style=Qt.PenStyle.DotLine)
        lines = []
        for i, row in enumerate(self.rows):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
            if i == 0:
                line.label = pg.InfLineLabel(
                    line, text=text, position=0.75, rotateAxis=(1, 0), anchors=[(0, 1), (0, 1)], color=theme.TEXT_DIM
                )
            row.plot.addItem(line, ignoreBounds=True)
            lines.append(line)
        self.markers.append((t, text, lines))
        self._dirty = True

    def clear_markers(self) -> None:
        for _, _, lines in self.markers:
            for row, line in zip(self.rows, lines, strict=True):
                row.plot.removeItem(line)
        self.markers.clear()

    def mark_dirty(self) -> None:
        """Redraw everything next frame (new session, dose marked)."""
        self._dirty = True
        self._oldest_cache = (None, None)
