"""The review window: one recorded session as stacked plots on one time axis.

Rows (x-linked, mouse zoom and pan in x): HR/PR, BP (cuff readings as sys–dia bars with markers,
arterial BP as lines when present), SpO2, RR, an alarm lane (raised→cleared intervals coloured by
priority; inactivation periods grey) and an observation lane (MOAA/S, CADSS, doses, interventions,
notes; protocol checkpoints as ticks). A vertical crosshair reads every channel at its instant; a
LinearRegionItem selects a range. x is minutes from t0 (from the start when there was no dose), or
clock time.

Loading: the numerics of the whole session come in one query as numpy arrays. The 75 Hz pleth is
not drawn in the overview (it is the only waveform and adds nothing at session scale); NaN values
and silences longer than ``GAP_S`` draw as gaps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from monitor.alarms.model import AlarmPriority
from monitor.channels import CHANNELS, ChannelKind
from monitor.events import EventKind, SessionEvent
from monitor.observations import Observation, ObservationLog, ObsKind, summary
from monitor.ports import SessionReader
from monitor.schedule import load_templates
from monitor.session import SessionInfo
from ui import theme

GAP_S = 30.0  # a numeric channel silent this long draws a gap
NUMERIC_TOLERANCE_S = 5.0  # the crosshair shows a continuous value this close to its instant
EPISODIC_HOLD_S = 15 * 60.0  # ... and the last cuff reading up to this old
PLOT_ROWS: dict[str, tuple[str, tuple[str, ...], tuple[float, float]]] = {
    "hr": ("HR / PR", ("hr", "pr"), (30, 160)),
    "bp": ("BP", ("abp_sys", "abp_dia", "abp_map"), (40, 220)),
    "spo2": ("SpO₂", ("spo2",), (70, 101)),
    "rr": ("RR", ("rr",), (0, 40)),
}
NIBP = ("nibp_sys", "nibp_dia", "nibp_map")
PRIORITY_COLOURS = {AlarmPriority.LOW: theme.ALARM_LOW, AlarmPriority.MEDIUM: theme.ALARM_MEDIUM, AlarmPriority.HIGH: theme.ALARM_HIGH}
PAUSED_COLOUR = "#6b7580"
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
            open_[key] = [ev.t, prio, str(d.get("message", key))]
        elif tr in ("escalated", "deescalated") and key in open_ and prio is not None:
            cur = open_[key][1]
            open_[key][1] = prio if cur is None else max(cur, prio)
        elif tr == "cleared" and key in open_:
            start, p, msg = open_.pop(key)
            out.append(AlarmInterval(key, p, start, ev.t, msg))
        elif tr == "paused":
            paused.setdefault(key, ev.t)
        elif tr == "resumed" and key in paused:
            out.append(AlarmInterval(key, None, paused.pop(key), ev.t, "inactivated"))
    for key, (start, p, msg) in open_.items():
        out.append(AlarmInterval(key, p, start, max(end_t, start), msg))
    for key, start in paused.items():
        out.append(AlarmInterval(key, None, start, max(end_t, start), "inactivated"))
    return sorted(out, key=lambda a: a.start)


def observation_marks(events: list[SessionEvent]) -> list[ObsMark]:
    """The observation lane: current observations (amendments applied), free notes and doses."""
    log = ObservationLog()
    marks: list[ObsMark] = []
    for ev in events:
        if ev.kind is EventKind.OBSERVATION:
            try:
                log.add(Observation.from_record(ev.t, ev.data))
            except (KeyError, ValueError, TypeError):
                marks.append(ObsMark(ev.t, 0.0, "Observation (unreadable)"))
        elif ev.kind is EventKind.NOTE:
            marks.append(ObsMark(ev.t, 0.0, f"Note: {str(ev.data.get('text', ''))[:40]}"))
    for obs in log.current():
        try:
            text = summary(obs)
        except (KeyError, ValueError, TypeError):
            text = obs.kind.value
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


class ReviewWindow(QWidget):
    """One session, read through ``reader``; ``range_selected`` carries (t_from, t_to) UTC seconds."""

    range_selected = Signal(float, float)

    def __init__(self, reader: SessionReader, session_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info: SessionInfo = reader.session_info(session_id)
        self.series = reader.series(session_id, [c for c, s in CHANNELS.items() if s.kind is not ChannelKind.WAVEFORM])
        self.events = reader.events(session_id)
        info = self.info
        self.origin = info.t0 if info.t0 is not None else info.started
        last = max([info.started] + [float(t[-1]) for t, _ in self.series.values() if t.size] + [e.t for e in self.events])
        self.end_t = info.ended if info.ended is not None else last
        self.alarms = alarm_intervals(self.events, self.end_t)
        self.marks = observation_marks(self.events)
        self.setWindowTitle(f"Review — session {info.session_id}, patient {info.patient_id}")

        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(theme.BACKGROUND)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.axes: list[_TimeAxis] = []
        self.crosshairs: list[pg.InfiniteLine] = []
        rows = [*PLOT_ROWS, "alarms", "observations"]
        for i, name in enumerate(rows):
            axis = _TimeAxis(self.origin)
            self.axes.append(axis)
            plot = self.view.addPlot(row=i, col=0, axisItems={"bottom": axis})
            plot.setMouseEnabled(x=True, y=False)
            plot.disableAutoRange()
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").setWidth(60)
            plot.showAxis("bottom", i == len(rows) - 1)
            if name in PLOT_ROWS:
                plot.setLabel("left", PLOT_ROWS[name][0])
                plot.setYRange(*PLOT_ROWS[name][2], padding=0)
            if i:
                plot.setXLink(self.plots[rows[0]])
            self.plots[name] = plot
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.TEXT_DIM, width=1))
            plot.addItem(line, ignoreBounds=True)
            self.crosshairs.append(line)
            if info.t0 is not None:
                plot.addItem(pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen(theme.DOSE_LINE, width=1, style=Qt.PenStyle.DashLine)))
        for i, name in enumerate(rows):
            self.view.ci.layout.setRowStretchFactor(i, 3 if name in PLOT_ROWS else 2)
        self._draw_numerics()
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
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.selection_label)
        self.setObjectName("dashboard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(theme.STYLE_SHEET)
        self.view.scene().sigMouseMoved.connect(self._mouse_moved)
        self.show_whole()

    # ---- drawing ----------------------------------------------------------------------------

    def _x(self, t: np.ndarray | float) -> Any:
        return (t - self.origin) / 60.0

    def _curve(self, plot: pg.PlotItem, code: str, t: np.ndarray, v: np.ndarray) -> pg.PlotDataItem:
        t, v = with_gaps(t, v)
        curve = plot.plot(self._x(t), v, pen=pg.mkPen(theme.channel_colour(code), width=1), connect="finite", antialias=False)
        curve.setClipToView(True)
        curve.setDownsampling(auto=True, method="peak")
        self.curves[code] = curve
        return curve

    def _draw_numerics(self) -> None:
        for row, (_, codes, _) in PLOT_ROWS.items():
            for code in codes:
                if code in self.series:
                    self._curve(self.plots[row], code, *self.series[code])

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
        bars = pg.ErrorBarItem(x=x[ok], y=dia_at[ok], top=(sys_ - dia_at)[ok], bottom=np.zeros(int(ok.sum())), beam=0, pen=pg.mkPen(colour, width=1))
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
            item = pg.ScatterPlotItem(self._x(tm[fin]), vm[fin], symbol="o", size=4, pen=None, brush=pg.mkBrush(theme.channel_colour("nibp_map")))
            plot.addItem(item)
            self.curves["nibp_map"] = item

    def _draw_alarms(self) -> None:
        plot = self.plots["alarms"]
        plot.setYRange(-0.5, 3.5, padding=0)
        plot.getAxis("left").setTicks([[(0, "paused"), (1, "low"), (2, "medium"), (3, "high")]])
        self.alarm_bars: dict[str, pg.BarGraphItem] = {}
        groups: dict[AlarmPriority | None, list[AlarmInterval]] = {}
        for a in self.alarms:
            groups.setdefault(a.priority, []).append(a)
        for prio, items in groups.items():
            x0 = np.array([self._x(a.start) for a in items])
            width = np.maximum(np.array([(a.end - a.start) / 60.0 for a in items]), 0.05)
            level = 0.0 if prio is None else float(prio) - 0.0
            colour = PAUSED_COLOUR if prio is None else PRIORITY_COLOURS[prio]
            bar = pg.BarGraphItem(x0=x0, width=width, y0=level - 0.35, height=0.7, brush=pg.mkBrush(colour), pen=pg.mkPen(None))
            plot.addItem(bar)
            self.alarm_bars["paused" if prio is None else prio.name.lower()] = bar

    def _draw_observations(self) -> None:
        plot = self.plots["observations"]
        plot.setYRange(-0.5, 4.5, padding=0)
        plot.getAxis("left").setTicks([[(0, "notes"), (1, "dose/int."), (2, "CADSS"), (3, "MOAA/S"), (4, "planned")]])
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
                plot.addItem(pg.ScatterPlotItem(xs, np.full(xs.size, 4.0), symbol="t", size=8, pen=None, brush=pg.mkBrush(theme.TEXT_DIM)))

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
            if code in ("nibp_dia", "nibp_map") or code.startswith("abp_") and code != "abp_sys":
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
                self.set_crosshair(float(plot.vb.mapSceneToView(pos).x()))
                return


def _fmt(v: float, decimals: int) -> str:
    return "—" if not math.isfinite(v) else f"{v:.{decimals}f}"
