"""The review window: one recorded session as stacked plots on one time axis.

Rows (x-linked, mouse zoom and pan in x): HR/PR, BP (cuff readings as sys–dia bars with markers,
arterial BP as lines when present), SpO2, RR, an alarm lane (raised→cleared intervals coloured by
priority; inactivation periods grey) and an observation lane (MOAA/S, CADSS, doses, interventions,
notes; protocol checkpoints as ticks). A vertical crosshair reads every channel at its instant; a
LinearRegionItem selects a range. x is minutes from t0 (from the start when there was no dose), or
clock time.

A side panel holds the summary (``monitor.summary``: computed on a worker thread after the first
paint, as it needs every reading as a ``Reading``), the signatures with a Sign button, and the exports
(``ui.review_side_panel``; its dialogs in ``ui.review_dialogs``).

Loading: the numerics of the whole session come in one query as numpy arrays; the pleth (1.1
million samples per 4 hours) as the envelope of each stored ~1 s chunk, and every sample of the
shown stretch once zoomed in to ten minutes or less. NaN values and silences longer than ``GAP_S``
(a few sample intervals or chunks for the pleth) draw as gaps.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from monitor.alarms.model import AlarmPriority
from monitor.channels import CHANNELS, ChannelKind
from monitor.errors import KnownError
from monitor.events import EventKind, SessionEvent
from monitor.observations import ObservationLog, ObsKind, describe
from monitor.ports import SessionExports, SessionReader, SignOff
from monitor.report_data import SignatureLine
from monitor.schedule import load_templates
from monitor.session import SessionInfo
from monitor.summary import SessionSummary
from ui import theme
from ui.review_side_panel import ReviewSidePanel

GAP_S = 30.0  # a numeric channel silent this long draws a gap
NUMERIC_TOLERANCE_S = 5.0  # the crosshair shows a continuous value this close to its instant
EPISODIC_HOLD_S = 15 * 60.0  # ... and the last cuff reading up to this old
PLOT_ROWS: dict[str, tuple[str, tuple[str, ...], tuple[float, float]]] = {
    "hr": ("HR / PR", ("hr", "pr"), (30, 160)),
    "bp": ("BP", ("abp_sys", "abp_dia", "abp_map"), (40, 220)),
    "spo2": ("SpO₂", ("spo2",), (70, 101)),
    "rr": ("RR", ("rr",), (0, 40)),
    "pleth": ("Pleth", (), (0, 1)),
}
NIBP = ("nibp_sys", "nibp_dia", "nibp_map")
PRIORITY_COLOURS = {
    AlarmPriority.LOW: theme.ALARM_LOW,
    AlarmPriority.MEDIUM: theme.ALARM_MEDIUM,
    AlarmPriority.HIGH: theme.ALARM_HIGH,
}
PAUSED_COLOUR = "#6b7580"
WAVE_GAP_SAMPLES = 3  # a waveform silent this many sample intervals (or chunks, in the envelope) draws a gap
PLETH_DETAIL_S = 600.0  # zoomed in to 10 minutes or less, the pleth shows every sample
OBS_ROWS = {ObsKind.MOAAS: 3.0, ObsKind.CADSS: 2.0, ObsKind.DOSE: 1.0, ObsKind.INTERVENTION: 1.0}


@dataclass(frozen=True, slots=True)
class AlarmInterval:
    """One alarm condition from raised to cleared (``priority`` the highest it reached), or an
    inactivation period (``priority`` None)."""

    key: str
    priority: AlarmPriority | None
    start: float
    end: float
    message: str
    technical: bool = False  # a technical alarm (device, sound, storage) rather than a physiological one


@dataclass(frozen=True, slots=True)
class ObsMark:
    """One entry of the observation lane."""

    t: float
    row: float
    text: str


def alarm_intervals(events: list[SessionEvent], end_t: float) -> list[AlarmInterval]:
    """Alarm conditions (raised→cleared) and inactivation periods (paused→resumed) from the alarm log."""
    out: list[AlarmInterval] = []
    open_: dict[str, list[Any]] = {}
    paused: dict[str, float] = {}
    for ev in events:
        if ev.kind is not EventKind.ALARM:
            continue
        d = ev.data
        tr, key = d.get("transition"), str(d.get("key", ""))
        prio = AlarmPriority[d["priority"]] if d.get("priority") in AlarmPriority.__members__ else None
        if tr == "raised" and key not in open_:
            open_[key] = [ev.t, prio, str(d.get("message", key)), d.get("category") == "technical"]
        elif tr in ("escalated", "deescalated") and key in open_ and prio is not None:
            cur = open_[key][1]
            open_[key][1] = prio if cur is None else max(cur, prio)
        elif tr == "cleared" and key in open_:
            start, p, msg, technical = open_.pop(key)
            out.append(AlarmInterval(key, p, start, ev.t, msg, technical))
        elif tr == "paused":
            paused.setdefault(key, ev.t)
        elif tr == "resumed" and key in paused:
            out.append(AlarmInterval(key, None, paused.pop(key), ev.t, "inactivated"))
    for key, (start, p, msg, technical) in open_.items():
        out.append(AlarmInterval(key, p, start, max(end_t, start), msg, technical))
    for key, start in paused.items():
        out.append(AlarmInterval(key, None, start, max(end_t, start), "inactivated"))
    return sorted(out, key=lambda a: a.start)


def observation_marks(events: list[SessionEvent]) -> list[ObsMark]:
    """The observation lane: current observations (amendments applied), free notes and doses."""
    log, unreadable = ObservationLog.from_events(events)
    marks = [ObsMark(ev.t, 0.0, "Observation (unreadable)") for ev in unreadable]
    for ev in events:
        if ev.kind is EventKind.NOTE:
            marks.append(ObsMark(ev.t, 0.0, f"Note: {str(ev.data.get('text', ''))[:40]}"))
    for obs in log.current():
        try:
            text = describe(obs)
        except (KeyError, ValueError, TypeError):
            text = obs.kind.value
        if obs.amends:
            text += " (amended)"
        marks.append(ObsMark(obs.t, OBS_ROWS.get(obs.kind, 0.0), text))
    return sorted(marks, key=lambda m: m.t)


def with_gaps(t: np.ndarray, v: np.ndarray, gap_s: float = GAP_S) -> tuple[np.ndarray, np.ndarray]:
    """``t, v`` with a NaN inserted wherever the channel was silent longer than ``gap_s``."""
    if t.size < 2:
        return t, v
    idx = np.flatnonzero(np.diff(t) > gap_s) + 1
    if idx.size == 0:
        return t, v
    return np.insert(t, idx, t[idx - 1] + gap_s / 2), np.insert(v, idx, np.nan)


class _TimeAxis(pg.AxisItem):
    """Minutes from the origin, or the clock time of that instant."""

    def __init__(self, origin: float) -> None:
        super().__init__("bottom")
        self.origin = origin
        self.clock = False

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if not self.clock:
            return [f"{v:g}" for v in values]
        fmt = "%H:%M:%S" if spacing < 1 else "%H:%M"
        return [time.strftime(fmt, time.localtime(self.origin + v * 60.0)) for v in values]


class ReviewWindow(ReviewSidePanel, QWidget):
    """One session, read through ``reader``; ``range_selected`` carries (t_from, t_to) UTC seconds.

    ``signoff`` and ``exports`` (optional) enable the Sign and Export buttons; ``replay`` (optional,
    called with the session id and a speed) the Replay button."""

    range_selected = Signal(float, float)
    summary_ready = Signal()

    def __init__(
        self,
        reader: SessionReader,
        session_id: int,
        parent: QWidget | None = None,
        *,
        signoff: SignOff | None = None,
        exports: SessionExports | None = None,
        replay: Any = None,
    ) -> None:
        super().__init__(parent)
        self._reader = reader
        self._signoff = signoff
        self._exports = exports
        self._replay = replay
        self.info: SessionInfo = reader.session_info(session_id)
        self.session_id = session_id
        info = self.info
        self.origin = info.t0 if info.t0 is not None else info.started
        self.setWindowTitle(f"Review — session {info.session_id}, patient {info.patient_id}")
        self._build_plots()
        self.series = reader.series(session_id, [c for c, s in CHANNELS.items() if s.kind is not ChannelKind.WAVEFORM])
        self.pleth_envelope = reader.waveform_envelope(session_id, "pleth")
        self.events = reader.events(session_id)
        ends = [float(t[-1]) for t, _ in self.series.values() if t.size] + [e.t for e in self.events]
        if self.pleth_envelope[0].size:
            ends.append(float(self.pleth_envelope[0][-1]) + 1.0)
        last = max([info.started, *ends])
        self.end_t = info.ended if info.ended is not None else last
        self.alarms = alarm_intervals(self.events, self.end_t)
        self.marks = observation_marks(self.events)

        self._draw_numerics()
        self._draw_pleth()
        self._draw_nibp()
        self._draw_alarms()
        self._draw_observations()

        self.region = pg.LinearRegionItem(brush=pg.mkBrush(255, 255, 255, 30))
        self.region.setZValue(-10)
        self.region.hide()
        self.plots["hr"].addItem(self.region, ignoreBounds=True)
        self.region.sigRegionChangeFinished.connect(self._region_changed)

        self.header = QLabel(self._header_text())
        self.header.setFont(theme.font(theme.SMALL_PX, bold=True))
        self.readout = QLabel(" ")
        self.readout.setFont(theme.font(theme.SMALL_PX, numeric=True))
        self.selection_label = QLabel("")
        self.clock_button = QToolButton(text="Clock time", checkable=True)
        self.clock_button.toggled.connect(self.set_clock_time)
        self.select_button = QToolButton(text="Select range", checkable=True)
        self.select_button.toggled.connect(self._toggle_region)
        zoom_in, zoom_out, whole = QPushButton("Zoom in"), QPushButton("Zoom out"), QPushButton("Whole session")
        zoom_in.clicked.connect(lambda: self.zoom(0.5))
        zoom_out.clicked.connect(lambda: self.zoom(2.0))
        whole.clicked.connect(self.show_whole)
        bar = QHBoxLayout()
        bar.addWidget(self.header, 1)
        for w in (self.clock_button, self.select_button, zoom_in, zoom_out, whole):
            bar.addWidget(w)
        plots = QVBoxLayout()
        plots.addWidget(self.view, 1)
        plots.addWidget(self.readout)
        plots.addWidget(self.selection_label)
        body = QHBoxLayout()
        body.addLayout(plots, 1)
        body.addWidget(self._side_panel())
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(body, 1)
        self.setObjectName("dashboard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(theme.STYLE_SHEET)
        self.view.scene().sigMouseMoved.connect(self._mouse_moved)
        self.show_whole()
        self.summary: SessionSummary | None = None
        self._summary_future: Future[tuple[SessionSummary, list[SignatureLine] | KnownError | None]] = Future()
        self._summary_poll = QTimer(self, interval=30)
        self._summary_poll.timeout.connect(self._poll_summary)
        self._summary_thread = threading.Thread(target=self._compute_summary, name="review-summary", daemon=True)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._start_summary)  # after the first paint: the plots come first

    def _start_summary(self) -> None:
        if self.isVisible() and self._summary_thread.ident is None:
            self._summary_thread.start()
            self._summary_poll.start()

    def _build_plots(self) -> None:
        """The stacked, x-linked plot rows (no data yet): per row a ViewBox with a left axis, and one
        time axis under the last row. (A PlotItem per row would bring menus and a control panel that
        the review does not use and that cost ~10 ms each to build.)"""
        info = self.info
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(theme.BACKGROUND)
        self.plots: dict[str, pg.ViewBox] = {}
        self.left_axes: dict[str, pg.AxisItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.crosshairs: list[pg.InfiniteLine] = []
        layout = self.view.ci
        rows = [*PLOT_ROWS, "alarms", "observations"]
        for i, name in enumerate(rows):
            vb = pg.ViewBox(enableMenu=False)
            vb.setMouseEnabled(x=True, y=False)
            vb.disableAutoRange()
            left = pg.AxisItem("left")
            left.linkToView(vb)
            left.setWidth(60)
            left.setGrid(64)
            left.setStyle(maxTickLevel=0)  # major ticks and grid lines only: clearer, and a third of the paint time
            left.enableAutoSIPrefix(False)  # the pleth is in device units; no "(x0.001)"
            layout.addItem(left, row=i, col=0)
            layout.addItem(vb, row=i, col=1)
            if name in PLOT_ROWS:
                left.setLabel(PLOT_ROWS[name][0])
                vb.setYRange(*PLOT_ROWS[name][2], padding=0)
            if i:
                vb.setXLink(self.plots[rows[0]])
            self.plots[name] = vb
            self.left_axes[name] = left
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.TEXT_DIM, width=1))
            vb.addItem(line, ignoreBounds=True)
            self.crosshairs.append(line)
            if info.t0 is not None:
                vb.addItem(pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen(theme.DOSE_LINE, width=1, style=Qt.PenStyle.DashLine)))
        self.time_axis = _TimeAxis(self.origin)
        self.time_axis.linkToView(self.plots[rows[-1]])
        self.time_axis.setGrid(64)
        self.time_axis.setStyle(maxTickLevel=0)
        layout.addItem(self.time_axis, row=len(rows), col=1)
        self.axes = [self.time_axis]
        for i, name in enumerate(rows):
            layout.layout.setRowStretchFactor(i, 2 if name in ("pleth", "alarms", "observations") else 3)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._summary_poll.stop()
        if self._summary_thread.is_alive():
            self._summary_thread.join(timeout=5.0)
        super().closeEvent(event)

    # ---- drawing ----------------------------------------------------------------------------

    def _x(self, t: np.ndarray | float) -> Any:
        return (t - self.origin) / 60.0

    def _curve(self, plot: pg.ViewBox, code: str, t: np.ndarray, v: np.ndarray) -> pg.PlotDataItem:
        t, v = with_gaps(t, v)
        curve = pg.PlotDataItem(
            self._x(t), v, pen=pg.mkPen(theme.channel_colour(code), width=1), connect="finite", antialias=False
        )
        plot.addItem(curve)
        curve.setClipToView(True)
        curve.setDownsampling(auto=True, method="peak")
        self.curves[code] = curve
        return curve

    def _draw_numerics(self) -> None:
        for row, (_, codes, _) in PLOT_ROWS.items():
            for code in codes:  # (the pleth row has no numerics)
                if code in self.series:
                    self._curve(self.plots[row], code, *self.series[code])

    def _draw_pleth(self) -> None:
        """The pleth: over a long range its envelope (lowest and highest sample of each stored ~1 s
        chunk, a vertical stroke each); zoomed in to ``PLETH_DETAIL_S`` or less, every sample of the shown
        stretch, read when the range settles. Gaps where samples are missing."""
        t0s, lo, hi = self.pleth_envelope
        self._pleth_loaded: tuple[float, float] | None = None
        self.pleth_detail = pg.PlotDataItem(
            pen=pg.mkPen(theme.channel_colour("pleth"), width=1), connect="finite", antialias=False
        )
        self.plots["pleth"].addItem(self.pleth_detail)
        self.pleth_detail.hide()
        if t0s.size == 0:
            return
        keep = np.isfinite(lo) & np.isfinite(hi)  # a chunk with no sample at all draws nothing: a gap
        t = np.repeat(t0s[keep], 2)
        v = np.empty(t.size)
        v[0::2], v[1::2] = lo[keep], hi[keep]
        # one vertical stroke per chunk, from its lowest to its highest sample (no zigzag between chunks)
        curve = pg.PlotDataItem(
            self._x(t), v, pen=pg.mkPen(theme.channel_colour("pleth"), width=1), connect="pairs", antialias=False
        )
        self.plots["pleth"].addItem(curve)
        self.curves["pleth"] = curve
        fin_lo, fin_hi = lo[np.isfinite(lo)], hi[np.isfinite(hi)]
        if fin_lo.size and fin_hi.size:
            y0, y1 = float(fin_lo.min()), float(fin_hi.max())
            self.plots["pleth"].setYRange(y0, y1 if y1 > y0 else y0 + 1.0, padding=0.05)
        self._pleth_timer = QTimer(self, singleShot=True, interval=80)
        self._pleth_timer.timeout.connect(self.update_pleth_detail)
        self.plots["pleth"].sigXRangeChanged.connect(lambda *_: self._pleth_timer.start())

    def update_pleth_detail(self) -> None:
        """Show every sample when the shown range is short enough, the envelope otherwise."""
        if "pleth" not in self.curves:
            return
        lo, hi = self.x_range()
        t_lo, t_hi = self.origin + lo * 60.0, self.origin + hi * 60.0
        detail = t_hi - t_lo <= PLETH_DETAIL_S
        if detail and not (self._pleth_loaded and self._pleth_loaded[0] <= t_lo and t_hi <= self._pleth_loaded[1]):
            margin = (t_hi - t_lo) / 2
            a, b = t_lo - margin, t_hi + margin
            try:
                t, v = self._reader.waveform_series(self.session_id, "pleth", a - 2.0, b)  # chunks start up to ~1 s early
            except KnownError as exc:  # the database went away meanwhile: keep the envelope, say why
                self.action_status.setText(f"The pleth samples could not be read: {exc}")
                return
            fs = 1.0 / float(np.median(np.diff(t[: min(t.size, 1000)]))) if t.size > 1 else 1.0
            t, v = with_gaps(t, v, WAVE_GAP_SAMPLES / fs)
            self.pleth_detail.setData(self._x(t), v)
            self._pleth_loaded = (a, b)
        self.pleth_detail.setVisible(detail)
        self.curves["pleth"].setVisible(not detail)

    def _draw_nibp(self) -> None:
        """Cuff readings: a sys–dia bar with a marker at each end, MAP as a dot."""
        if "nibp_sys" not in self.series:
            return
        ts, sys_ = self.series["nibp_sys"]
        td, dia = self.series.get("nibp_dia", (np.empty(0), np.empty(0)))
        dia_at = np.full(ts.size, np.nan)
        if td.size:
            j = np.clip(np.searchsorted(td, ts), 0, td.size - 1)
            j0 = np.clip(j - 1, 0, td.size - 1)
            best = np.where(np.abs(td[j0] - ts) < np.abs(td[j] - ts), j0, j)
            near = np.abs(td[best] - ts) <= 2.0
            dia_at[near] = dia[best][near]
        x = self._x(ts)
        ok = np.isfinite(sys_) & np.isfinite(dia_at)
        plot = self.plots["bp"]
        colour = theme.channel_colour("nibp_sys")
        bars = pg.ErrorBarItem(
            x=x[ok], y=dia_at[ok], top=(sys_ - dia_at)[ok], bottom=np.zeros(int(ok.sum())), beam=0, pen=pg.mkPen(colour, width=1)
        )
        plot.addItem(bars)
        self.nibp_bars = bars
        for code, vals, symbol in (("nibp_sys", sys_, "t1"), ("nibp_dia", dia_at, "t")):
            fin = np.isfinite(vals)
            item = pg.ScatterPlotItem(x[fin], vals[fin], symbol=symbol, size=9, pen=None, brush=pg.mkBrush(colour))
            plot.addItem(item)
            self.curves[code] = item
        if "nibp_map" in self.series:
            tm, vm = self.series["nibp_map"]
            fin = np.isfinite(vm)
            item = pg.ScatterPlotItem(
                self._x(tm[fin]), vm[fin], symbol="o", size=4, pen=None, brush=pg.mkBrush(theme.channel_colour("nibp_map"))
            )
            plot.addItem(item)
            self.curves["nibp_map"] = item

    def _draw_alarms(self) -> None:
        """One row per priority: physiological alarms as the upper, wide band, technical alarms (a
        device, the sound, the storage) as a thin band under it, so a long technical condition does
        not hide the patient's alarms; inactivation periods grey on the bottom row."""
        plot = self.plots["alarms"]
        plot.setYRange(-0.5, 3.5, padding=0)
        self.left_axes["alarms"].setTicks([[(0, "paused"), (1, "low"), (2, "medium"), (3, "high")]])
        self.alarm_bars: dict[str, pg.BarGraphItem] = {}
        groups: dict[tuple[AlarmPriority | None, bool], list[AlarmInterval]] = {}
        for a in self.alarms:
            groups.setdefault((a.priority, a.technical and a.priority is not None), []).append(a)
        for (prio, technical), items in groups.items():
            x0 = np.array([self._x(a.start) for a in items])
            width = np.maximum(np.array([(a.end - a.start) / 60.0 for a in items]), 0.05)
            level = 0.0 if prio is None else float(prio)
            y0, height = (level - 0.4, 0.2) if technical else (level - 0.15, 0.5) if prio is not None else (level - 0.35, 0.7)
            colour = PAUSED_COLOUR if prio is None else PRIORITY_COLOURS[prio]
            bar = pg.BarGraphItem(x0=x0, width=width, y0=y0, height=height, brush=pg.mkBrush(colour), pen=pg.mkPen(None))
            plot.addItem(bar)
            name = "paused" if prio is None else prio.name.lower() + (" technical" if technical else "")
            self.alarm_bars[name] = bar

    def _draw_observations(self) -> None:
        plot = self.plots["observations"]
        plot.setYRange(-0.5, 4.5, padding=0)
        self.left_axes["observations"].setTicks([[(0, "notes"), (1, "dose/int."), (2, "CADSS"), (3, "MOAA/S"), (4, "planned")]])
        self.obs_texts: list[pg.TextItem] = []
        if self.marks:
            xs = np.array([self._x(m.t) for m in self.marks])
            ys = np.array([m.row for m in self.marks])
            plot.addItem(pg.ScatterPlotItem(xs, ys, symbol="d", size=8, pen=None, brush=pg.mkBrush(theme.TEXT)))
            for m, x in zip(self.marks, xs, strict=True):
                text = pg.TextItem(m.text, color=theme.TEXT, anchor=(0, 0.5))
                text.setPos(float(x), m.row)
                plot.addItem(text, ignoreBounds=True)
                self.obs_texts.append(text)
        self.checkpoints: list[float] = []
        if self.info.t0 is not None:
            try:
                template = load_templates().get(self.info.protocol)
            except (OSError, ValueError, KeyError):
                template = None
            if template is not None:
                self.checkpoints = [self.info.t0 + cp.at_s for cp in template.checkpoints if not cp.pre_dose]
            if self.checkpoints:
                xs = np.array([self._x(t) for t in self.checkpoints])
                plot.addItem(
                    pg.ScatterPlotItem(xs, np.full(xs.size, 4.0), symbol="t", size=8, pen=None, brush=pg.mkBrush(theme.TEXT_DIM))
                )

    def _header_text(self) -> str:
        i = self.info

        def clock(t: float | None) -> str:
            return "—" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))

        end = "interrupted (no end recorded)" if i.ended is None else f"{clock(i.ended)} ({i.end_reason or 'ended'})"
        return f"Patient {i.patient_id} · {i.protocol.label} · {i.clinician} · start {clock(i.started)} · t0 {clock(i.t0)} · end {end}"

    # ---- interaction ------------------------------------------------------------------------

    def x_range(self) -> tuple[float, float]:
        """The shown range, minutes from the origin."""
        lo, hi = self.plots["hr"].viewRange()[0]
        return float(lo), float(hi)

    def set_x_range(self, lo: float, hi: float) -> None:
        self.plots["hr"].setXRange(lo, hi, padding=0)

    def show_whole(self) -> None:
        lo, hi = self._x(self.info.started), self._x(self.end_t)
        self.set_x_range(lo, max(hi, lo + 1.0))

    def zoom(self, factor: float, centre: float | None = None) -> None:
        """Scale the x range by ``factor`` (< 1 zooms in) about ``centre`` (default: the middle)."""
        lo, hi = self.x_range()
        c = (lo + hi) / 2 if centre is None else centre
        self.set_x_range(c - (c - lo) * factor, c + (hi - c) * factor)

    def set_clock_time(self, on: bool) -> None:
        """Label the time axis with clock time instead of minutes from t0."""
        for axis in self.axes:
            axis.clock = on
            axis.picture = None
            axis.update()
        if self.clock_button.isChecked() != on:
            self.clock_button.setChecked(on)

    def values_at(self, t: float) -> dict[str, float]:
        """Every channel's value at UTC instant ``t`` (NaN: none there)."""
        out: dict[str, float] = {}
        for code, (ts, vs) in self.series.items():
            out[code] = math.nan
            if ts.size == 0:
                continue
            i = int(np.searchsorted(ts, t, side="right")) - 1
            episodic = CHANNELS[code].kind is ChannelKind.EPISODIC
            cands = [j for j in (i, i + 1) if 0 <= j < ts.size]
            j = min(cands, key=lambda k: abs(ts[k] - t))
            if abs(ts[j] - t) <= (2.0 if episodic else NUMERIC_TOLERANCE_S):
                out[code] = float(vs[j])
            elif episodic and i >= 0 and t - ts[i] <= EPISODIC_HOLD_S:
                out[code] = float(vs[i])
        return out

    def set_crosshair(self, x: float) -> dict[str, float]:
        """Move the crosshair to ``x`` (minutes from the origin) and list every channel there."""
        for line in self.crosshairs:
            line.setValue(x)
        t = self.origin + x * 60.0
        values = self.values_at(t)
        parts = [f"{x:+.1f} min ({time.strftime('%H:%M:%S', time.localtime(t))})"]
        for code, v in values.items():
            if code in ("nibp_dia", "nibp_map") or (code.startswith("abp_") and code != "abp_sys"):
                continue
            spec = CHANNELS[code]
            if code in ("nibp_sys", "abp_sys"):
                lbl = "NIBP" if code == "nibp_sys" else "ART"
                dia = values.get(code.replace("sys", "dia"), math.nan)
                parts.append(f"{lbl} {_fmt(v, 0)}/{_fmt(dia, 0)}")
            else:
                parts.append(f"{spec.label} {_fmt(v, spec.decimals)}")
        self.readout.setText("   ".join(parts))
        return values

    def selected_range(self) -> tuple[float, float] | None:
        """The selected range as UTC seconds, or None when no range is being selected."""
        if not self.region.isVisible():
            return None
        lo, hi = self.region.getRegion()
        return self.origin + lo * 60.0, self.origin + hi * 60.0

    def _toggle_region(self, on: bool) -> None:
        if on:
            lo, hi = self.x_range()
            span = hi - lo
            self.region.setRegion((lo + span / 3, hi - span / 3))
        self.region.setVisible(on)
        self._region_changed()

    def _region_changed(self) -> None:
        rng = self.selected_range()
        if rng is None:
            self.selection_label.setText("")
            return
        a, b = rng
        self.selection_label.setText(f"Selected {self._x(a):+.1f} to {self._x(b):+.1f} min ({(b - a) / 60:.1f} min)")
        self.range_selected.emit(a, b)

    def _mouse_moved(self, pos: QPointF) -> None:
        for plot in self.plots.values():
            if plot.sceneBoundingRect().contains(pos):
                self.set_crosshair(float(plot.mapSceneToView(pos).x()))
                return


def _fmt(v: float, decimals: int) -> str:
    return "—" if not math.isfinite(v) else f"{v:.{decimals}f}"
