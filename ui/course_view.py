"""The treatment-course window (issue 7): one patient's sessions side by side, so the prescriber sees
before the next dose whether the blood-pressure and dissociation response is attenuating.

Top: every session's cuff SBP minus that session's baseline against minutes from t0, overlaid and
aligned at t0 (one colour per session, legend "#n date"). Below, by session order: peak ΔSBP, peak
CADSS, MOAA/S nadir, and alarms stacked by priority. Then a table of the same figures; a missing
value shows as "—", never 0, and a session that cannot be aligned says why in its row.
Double-clicking a row asks for that session's review window (``open_session``).

The figures come from ``monitor.course`` (hence ``monitor.summary``): the same numbers as the review,
the report and the exports.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from monitor.course import CourseEntry, build_course
from monitor.ports import SessionReader
from monitor.summary import Extreme
from ui import theme

MISSING: Final = "—"
HEADERS: Final = (
    "#",
    "Session",
    "Date",
    "Protocol",
    "Baseline SBP",
    "Peak SBP (min)",
    "Peak ΔSBP",
    "Peak CADSS",
    "Lowest MOAA/S",
    "Alarms H/M/L",
    "End",
    "Note",
)
#: Header text as shown: two lines where the figures are narrower than the name, so all columns fit.
HEADER_LABELS: Final = tuple(
    h if h in ("#", "Session", "Date", "Protocol", "End", "Note") else h.replace(" ", "\n", 1) for h in HEADERS
)
#: One colour per session, in course order; none is an IEC alarm colour (pure red / yellow / cyan).
SESSION_COLOURS: Final = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#edc948",
    "#76b7b2",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
TABLE_PX: Final = 18  # between theme.SMALL_PX and theme.LABEL_PX: twelve columns must fit a 1400 px window
FIGURE_PLOTS: Final = ("delta_sbp", "cadss", "moaas", "alarms")
_TABLE_STYLE: Final = f"""
QTableWidget {{ background: {theme.PANEL}; alternate-background-color: {theme.BUTTON}; gridline-color: {theme.GRID};
    color: {theme.TEXT}; selection-background-color: #2f3d4c; }}
QHeaderView::section {{ background: {theme.PANEL}; color: {theme.TEXT_DIM}; border: 1px solid {theme.PANEL_BORDER}; padding: 4px; }}
"""


def session_colour(number: int) -> str:
    """The colour of course session ``number`` (1-based)."""
    return SESSION_COLOURS[(number - 1) % len(SESSION_COLOURS)]


def session_date(entry: CourseEntry) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(entry.info.started))


def row_texts(entry: CourseEntry) -> list[str]:
    """The table row of one session; every missing figure is ``MISSING``."""
    s = entry.summary
    alarms = s.alarms_by_priority
    info = entry.info
    end = "interrupted" if info.ended is None else (info.end_reason or "ended")
    peak = MISSING if s.peak_sbp is None else f"{_num(s.peak_sbp.value)} ({_minute(s.peak_sbp)})"
    return [
        str(entry.number),
        MISSING if info.session_id is None else str(info.session_id),
        session_date(entry),
        info.protocol.label,
        _num(entry.baseline_sbp),
        peak,
        _num(s.peak_delta_sbp, signed=True),
        _num(None if s.peak_cadss is None else s.peak_cadss.value),
        _num(None if s.lowest_moaas is None else s.lowest_moaas.value),
        "/".join(str(alarms.get(p, 0)) for p in ("HIGH", "MEDIUM", "LOW")),
        end,
        entry.note,
    ]


def _num(v: float | None, signed: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return MISSING
    return f"{v:+.0f}" if signed else f"{v:.0f}"


def _minute(e: Extreme) -> str:
    return MISSING if e.minute is None else f"{e.minute:+.0f} min"


def _nan(v: float | None) -> float:
    return math.nan if v is None else float(v)


def _value(e: Extreme | None) -> float:
    return math.nan if e is None else float(e.value)


class CourseWindow(QWidget):
    """The treatment course of ``patient_id``, read through ``reader``; ``open_session`` carries the
    session id of a double-clicked row; ``progress(done, total)`` hears how far the reading is."""

    open_session = Signal(int)

    def __init__(
        self,
        reader: SessionReader,
        patient_id: str,
        parent: QWidget | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.patient_id = patient_id.strip()
        self.entries: list[CourseEntry] = build_course(reader, self.patient_id, progress)
        self.setWindowTitle(f"Treatment course — patient {self.patient_id}")

        n, aligned = len(self.entries), sum(e.aligned for e in self.entries)
        title = f"Treatment course · patient {self.patient_id} · {n} session{'s' if n != 1 else ''}"
        if n == 0:
            title += " · no sessions recorded for this patient"
        elif aligned < n:
            title += f" · {n - aligned} not aligned at t0 (see the table)"
        self.header = QLabel(title)
        self.header.setFont(theme.font(theme.LABEL_PX, bold=True))

        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(theme.BACKGROUND)
        self.overlay = self.view.addPlot(row=0, col=0, colspan=len(FIGURE_PLOTS))
        self.figures: dict[str, pg.PlotItem] = {}
        for col, name in enumerate(FIGURE_PLOTS):
            self.figures[name] = self.view.addPlot(row=1, col=col)
        self.view.ci.layout.setRowStretchFactor(0, 3)
        self.view.ci.layout.setRowStretchFactor(1, 2)
        self.curves: dict[int, pg.PlotDataItem] = {}  # course number -> overlay curve
        self.figure_items: dict[str, pg.GraphicsObject] = {}
        self._draw_overlay()
        self._draw_figures()

        self.table = QTableWidget(n, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADER_LABELS))
        self.table.setFont(theme.font(TABLE_PX, numeric=True))
        self.table.horizontalHeader().setFont(theme.font(theme.SMALL_PX, bold=True))
        self.table.setStyleSheet(_TABLE_STYLE)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self._fill_table()
        self.table.horizontalHeader().resizeSections(QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellDoubleClicked.connect(self._row_activated)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([560, 390])  # the table shows a whole induction course (8 sessions) unscrolled
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(splitter, 1)
        self.setObjectName("dashboard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(theme.STYLE_SHEET)

    # ---- drawing ----------------------------------------------------------------------------

    def _style(self, plot: pg.PlotItem, left: str, bottom: str) -> None:
        plot.setMouseEnabled(x=True, y=False)
        plot.disableAutoRange()
        plot.showGrid(x=True, y=True, alpha=0.25)
        for side, text in (("left", left), ("bottom", bottom)):
            axis = plot.getAxis(side)
            axis.setTickFont(theme.font(theme.SMALL_PX))
            axis.setTextPen(theme.AXIS)
            axis.setPen(theme.AXIS)
            plot.setLabel(side, text, color=theme.TEXT, size=f"{theme.SMALL_PX}px")

    def _draw_overlay(self) -> None:
        """ΔSBP against minutes from t0, one curve per aligned session; x covers every reading."""
        plot = self.overlay
        self._style(plot, "ΔSBP over baseline (mmHg)", "minutes from t0")
        legend = plot.addLegend(offset=(-10, 10), labelTextColor=theme.TEXT, labelTextSize=f"{theme.SMALL_PX}px")
        legend.setBrush(pg.mkBrush(theme.PANEL))
        plot.addItem(pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen(theme.DOSE_LINE, width=1, style=Qt.PenStyle.DashLine)))
        plot.addItem(pg.InfiniteLine(0.0, angle=0, pen=pg.mkPen(theme.TEXT_DIM, width=1)))
        xs, ys = [-10.0, 60.0], [-20.0, 40.0]
        for e in self.entries:
            if not e.aligned or e.minutes.size == 0:
                continue
            colour = session_colour(e.number)
            curve = plot.plot(
                e.minutes,
                e.delta_sbp,
                pen=pg.mkPen(colour, width=1),
                symbol="o",
                symbolSize=7,
                symbolPen=None,
                symbolBrush=pg.mkBrush(colour),
                name=f"#{e.number} {session_date(e)}",
                antialias=False,
            )
            self.curves[e.number] = curve
            xs += [float(e.minutes.min()), float(e.minutes.max())]
            ys += [float(e.delta_sbp.min()), float(e.delta_sbp.max())]
        plot.setXRange(min(xs) - 2, max(xs) + 2, padding=0)
        plot.setYRange(min(ys) - 5, max(ys) + 10, padding=0)

    def _draw_figures(self) -> None:
        """One small plot per figure, x = session number, so a falling trend reads at a glance."""
        numbers = np.array([e.number for e in self.entries], dtype=np.float64)
        n = max(len(self.entries), 1)
        series = {
            "delta_sbp": ("Peak ΔSBP (mmHg)", [_nan(e.summary.peak_delta_sbp) for e in self.entries], theme.RED_CHANNEL),
            "cadss": ("Peak CADSS", [_value(e.summary.peak_cadss) for e in self.entries], theme.ORANGE),
            "moaas": ("MOAA/S nadir", [_value(e.summary.lowest_moaas) for e in self.entries], theme.WHITE),
        }
        for name, (label, values, colour) in series.items():
            plot = self.figures[name]
            self._style(plot, label, "session #")
            v = np.array(values, dtype=np.float64)
            ok = np.isfinite(v)
            line = plot.plot(numbers, v, pen=pg.mkPen(colour, width=1), connect="finite", antialias=False)
            points = pg.ScatterPlotItem(numbers[ok], v[ok], symbol="o", size=9, pen=None, brush=pg.mkBrush(colour))
            plot.addItem(points)
            self.figure_items[name] = points
            self.figure_items[f"{name}_line"] = line
            finite = v[ok]
            if name == "moaas":
                plot.setYRange(-0.5, 5.5, padding=0)  # the whole scale: 5 awake ... 0 unresponsive
            elif name == "cadss":
                plot.setYRange(0, max(20.0, float(finite.max()) * 1.15 if finite.size else 0.0), padding=0)
            else:
                lo = min(0.0, float(finite.min()) if finite.size else 0.0)
                plot.setYRange(lo - 5, max(40.0, float(finite.max()) + 10 if finite.size else 0.0), padding=0)
        self._draw_alarm_bars(numbers)
        for plot in self.figures.values():
            plot.setXRange(0.5, n + 0.5, padding=0)
            plot.getAxis("bottom").setTicks([[(float(i), str(i)) for i in range(1, n + 1)]])
            if plot is not self.figures[FIGURE_PLOTS[0]]:
                plot.setXLink(self.figures[FIGURE_PLOTS[0]])

    def _draw_alarm_bars(self, numbers: np.ndarray) -> None:
        """Alarm conditions per session, stacked high / medium / low in the IEC alarm colours."""
        plot = self.figures["alarms"]
        self._style(plot, "Alarms", "session #")
        bottom = np.zeros(numbers.size)
        for prio, colour in (("HIGH", theme.ALARM_HIGH), ("MEDIUM", theme.ALARM_MEDIUM), ("LOW", theme.ALARM_LOW)):
            counts = np.array([e.summary.alarms_by_priority.get(prio, 0) for e in self.entries], dtype=np.float64)
            if counts.size:
                bar = pg.BarGraphItem(
                    x=numbers, width=0.6, y0=bottom.copy(), height=counts, brush=pg.mkBrush(colour), pen=pg.mkPen(None)
                )
                plot.addItem(bar)
                self.figure_items[f"alarms_{prio.lower()}"] = bar
            bottom = bottom + counts if counts.size else bottom
        plot.setYRange(0, max(3.0, float(bottom.max()) + 1 if bottom.size else 0.0), padding=0)

    def _fill_table(self) -> None:
        for r, entry in enumerate(self.entries):
            for c, text in enumerate(row_texts(entry)):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setForeground(theme.qcolor(session_colour(entry.number)))
                if c == HEADERS.index("End"):
                    item.setToolTip(self._end_tip(entry))
                elif entry.note:
                    item.setToolTip(entry.note)
                self.table.setItem(r, c, item)

    @staticmethod
    def _end_tip(entry: CourseEntry) -> str:
        if entry.info.ended is None:
            return "No end was recorded: the session was interrupted (or is still running)"
        return "Ended " + time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.info.ended))

    # ---- interaction ------------------------------------------------------------------------

    def _row_activated(self, row: int, _column: int) -> None:
        sid = self.entries[row].session_id
        if sid is not None:
            self.open_session.emit(sid)
