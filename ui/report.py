"""The printed session report: ``ReportData`` drawn to a PDF with ``QPdfWriter`` and ``QPainter``.

Pages: (1) header, peak BP, the trend plot (SBP/DBP/HR above, SpO2 below, minutes from t0) and the
signatures with their validity; (2…) the alarm log and the observations; (last, Spravato only) the
REMS-style Patient Monitoring Form summary pre-filled from the recording. Coordinates are in points
(the writer runs at 72 dpi; a PDF is vector, so text and lines stay sharp). Needs a ``QGuiApplication``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPainterPath, QPdfWriter, QPen

from monitor.report_data import ReportData, ReportRow, ReportSeries

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
MARGIN = 40.0
BODY_W = PAGE_W - 2 * MARGIN
FOOTER_Y = PAGE_H - 28.0
#: A numeric trend is broken where two samples are further apart than this (a gap shows as a gap).
GAP_MIN = 0.5


class ReportError(Exception):
    """The PDF could not be written (the path is not writable)."""


def _font(size: float, bold: bool = False) -> QFont:
    f = QFont("DejaVu Sans")
    f.setPointSizeF(size)
    f.setBold(bold)
    f.setFeature(QFont.Tag("liga"), 0)  # no "fi" ligatures: the PDF's text stays searchable as typed
    return f


class _Pages:
    """A painter on the PDF with a text cursor ``y`` that starts a new page when the next block does not fit."""

    def __init__(self, painter: QPainter, writer: QPdfWriter, data: ReportData) -> None:
        self.p, self.writer, self.data = painter, writer, data
        self.page = 1
        self.y = MARGIN

    def footer(self) -> None:
        self.p.setFont(_font(7))
        self.p.setPen(QColor("#555555"))
        d = self.data
        text = f"Session {d.session_id} · patient {d.patient_id} · generated {d.generated} · page {self.page}"
        self.p.drawText(QRectF(MARGIN, FOOTER_Y, BODY_W, 12), Qt.AlignmentFlag.AlignLeft, text)
        self.p.setPen(QColor("#000000"))

    def new_page(self) -> None:
        self.footer()
        self.writer.newPage()
        self.page += 1
        self.y = MARGIN

    def need(self, height: float) -> None:
        if self.y + height > FOOTER_Y - 8:
            self.new_page()

    def heading(self, text: str, size: float = 12) -> None:
        self.need(size * 2.5)
        self.y += 2
        self.line(text, size=size, bold=True)
        self.y += size * 0.3

    def line(self, text: str, size: float = 9, bold: bool = False, color: str = "#000000", indent: float = 0) -> None:
        self.p.setFont(_font(size, bold))
        rect = QRectF(MARGIN + indent, self.y, BODY_W - indent, 1000)
        flags = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)
        bound = self.p.boundingRect(rect, flags, text)
        self.need(bound.height())
        self.p.setPen(QColor(color))
        self.p.drawText(QRectF(MARGIN + indent, self.y, BODY_W - indent, bound.height()), flags, text)
        self.p.setPen(QColor("#000000"))
        self.y += bound.height() + 1.5

    def field(self, label: str, value: str, label_w: float = 150) -> None:
        self.p.setFont(_font(9))
        flags = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)
        bound = self.p.boundingRect(QRectF(MARGIN + label_w, self.y, BODY_W - label_w, 1000), flags, value)
        h = max(bound.height(), 12)
        self.need(h)
        self.p.setFont(_font(9, bold=True))
        self.p.drawText(QRectF(MARGIN, self.y, label_w, h), flags, label)
        self.p.setFont(_font(9))
        self.p.drawText(QRectF(MARGIN + label_w, self.y, BODY_W - label_w, h), flags, value)
        self.y += h + 2

    def table(self, title: str, rows: Sequence[ReportRow], empty: str) -> None:
        self.heading(title, 11)
        if not rows:
            self.line(empty, color="#555555")
            return
        cols = (("Min", 45.0), ("Time (UTC)", 125.0), ("What", BODY_W - 45 - 125 - 95), ("Who", 95.0))
        self._row([c for c, _ in cols], [w for _, w in cols], bold=True)
        for r in rows:
            self._row([r.minute, r.time.replace(" UTC", ""), r.text, r.who], [w for _, w in cols])
        self.y += 6

    def _row(self, cells: list[str], widths: list[float], bold: bool = False) -> None:
        self.p.setFont(_font(8, bold))
        flags = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)
        h = max(self.p.boundingRect(QRectF(0, 0, w - 4, 1000), flags, c).height() for c, w in zip(cells, widths, strict=True))
        self.need(h + 2)
        x = MARGIN
        for c, w in zip(cells, widths, strict=True):
            self.p.drawText(QRectF(x, self.y, w - 4, h), flags, c)
            x += w
        self.y += h + 2
        self.p.setPen(QPen(QColor("#dddddd"), 0.5))
        self.p.drawLine(QPointF(MARGIN, self.y - 1), QPointF(MARGIN + BODY_W, self.y - 1))
        self.p.setPen(QColor("#000000"))


# ---- the trend plot -------------------------------------------------------------------------


def _nice_range(values: list[float], lo: float, hi: float) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        lo, hi = min(lo, min(finite)), max(hi, max(finite))
    step = 10.0
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def _panel(
    p: QPainter, rect: QRectF, series: Sequence[ReportSeries], x_range: tuple[float, float], y_range: tuple[float, float],
    title: str, marks: Sequence[float],
) -> None:  # fmt: skip
    """One plot panel: frame, grid with labels, checkpoint lines, the series (breaks at NaN and gaps), a legend."""
    x0, x1 = x_range
    y0, y1 = y_range

    def pt(x: float, y: float) -> QPointF:
        return QPointF(rect.left() + (x - x0) / (x1 - x0) * rect.width(), rect.bottom() - (y - y0) / (y1 - y0) * rect.height())

    p.setFont(_font(7))
    grid = QPen(QColor("#e0e0e0"), 0.5)
    y_step = 20.0 if (y1 - y0) > 60 else 5.0
    y = math.ceil(y0 / y_step) * y_step
    while y <= y1:
        p.setPen(grid)
        p.drawLine(pt(x0, y), pt(x1, y))
        p.setPen(QColor("#333333"))
        p.drawText(QRectF(rect.left() - 32, pt(x0, y).y() - 5, 28, 10), Qt.AlignmentFlag.AlignRight, f"{y:g}")
        y += y_step
    span = x1 - x0
    x_step = next(s for s in (1, 2, 5, 10, 15, 20, 30, 60, 120, 240) if span / s <= 12)
    x = math.ceil(x0 / x_step) * x_step
    while x <= x1:
        p.setPen(grid)
        p.drawLine(pt(x, y0), pt(x, y1))
        p.setPen(QColor("#333333"))
        p.drawText(QRectF(pt(x, y0).x() - 15, rect.bottom() + 2, 30, 10), Qt.AlignmentFlag.AlignHCenter, f"{x:g}")
        x += x_step
    for m in marks:
        if x0 <= m <= x1:
            p.setPen(QPen(QColor("#7b1fa2"), 0.8, Qt.PenStyle.DashLine))
            p.drawLine(pt(m, y0), pt(m, y1))
    p.setPen(QPen(QColor("#000000"), 0.8))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(rect)
    p.setFont(_font(8, bold=True))
    p.drawText(QRectF(rect.left(), rect.top() - 13, rect.width(), 12), Qt.AlignmentFlag.AlignLeft, title)
    p.save()
    p.setClipRect(rect)
    for s in series:
        color = QColor(s.color)
        path = QPainterPath()
        started = False
        prev: float | None = None
        for m, v in zip(s.minutes, s.values, strict=True):
            if not math.isfinite(v):
                started = False
                continue
            if started and not s.markers and prev is not None and m - prev > GAP_MIN:
                started = False
            q = pt(m, v)
            if started:
                path.lineTo(q)
            else:
                path.moveTo(q)
            started, prev = True, m
        p.setPen(QPen(color, 1.0 if s.markers else 0.8))
        p.drawPath(path)
        if s.markers:
            p.setBrush(color)
            for m, v in zip(s.minutes, s.values, strict=True):
                if math.isfinite(v):
                    p.drawEllipse(pt(m, v), 1.8, 1.8)
            p.setBrush(Qt.BrushStyle.NoBrush)
    p.restore()
    lx = rect.right()
    p.setFont(_font(7, bold=True))
    for s in reversed(series):  # the legend, right-aligned above the frame
        label = f"{s.label} ({s.unit})"
        w = p.fontMetrics().horizontalAdvance(label) + 8
        lx -= w
        p.setPen(QColor(s.color))
        p.drawText(QRectF(lx, rect.top() - 12, w, 10), Qt.AlignmentFlag.AlignLeft, label)
    p.setPen(QColor("#000000"))


def _trend_plot(pages: _Pages, data: ReportData) -> None:
    height = 330.0
    pages.heading("Trends (minutes from first dose; dashed: first dose and +40 min)", 11)
    pages.need(height)
    top = [s for s in data.series if s.label != "SpO2"]
    spo2 = [s for s in data.series if s.label == "SpO2"]
    minutes = [m for s in data.series for m in s.minutes]
    x_range = (min(minutes), max(minutes)) if minutes else (0.0, 120.0)
    if x_range[1] - x_range[0] < 1:
        x_range = (x_range[0], x_range[0] + 1)
    left = MARGIN + 34
    top_rect = QRectF(left, pages.y + 14, MARGIN + BODY_W - left, 190)
    spo2_rect = QRectF(left, top_rect.bottom() + 34, top_rect.width(), 80)
    y_top = _nice_range([v for s in top for v in s.values], 40, 160)
    y_spo2 = _nice_range([v for s in spo2 for v in s.values], 85, 100)
    _panel(pages.p, top_rect, top, x_range, y_top, "BP and heart rate", data.checkpoints_min)
    _panel(pages.p, spo2_rect, spo2, x_range, (y_spo2[0], 100.0), "SpO2", data.checkpoints_min)
    pages.y = spo2_rect.bottom() + 22


# ---- the document ---------------------------------------------------------------------------


def _header(pages: _Pages, d: ReportData) -> None:
    pages.heading(f"Session report — session {d.session_id}", 16)
    fields = [
        ("Patient (pseudonym)", d.patient_id),
        ("Protocol", d.protocol),
        ("Clinician", d.clinician),
        ("Dose(s)", "; ".join(d.doses) or "no dose recorded"),
        ("Lot", ", ".join(d.lots) or "not recorded"),
        ("Session started", d.started),
        ("t0 (first dose)", d.t0),
        ("Discharge", d.discharge),
        ("Session ended", d.ended),
        ("Total minutes (t0 to completion)", d.total_minutes),
        ("Ready to leave (minute)", d.ready_to_leave_minute),
        ("Peak BP", d.peak_bp),
    ]
    for label, value in fields:
        pages.field(label, value, label_w=170)
    pages.y += 6


def _summary(pages: _Pages, d: ReportData) -> None:
    if not d.summary:
        return
    pages.heading("Summary (post-dose figures; minutes from first dose)", 11)
    for label, value in d.summary:
        pages.field(label, value, label_w=170)
    pages.y += 6


def _signatures(pages: _Pages, d: ReportData) -> None:
    pages.heading("Signatures", 11)
    if not d.signatures:
        pages.line("Not signed.", color="#555555")
    for s in d.signatures:
        pages.line(s.text, bold=not s.valid, color="#000000" if s.valid else "#b00020")


def _monitoring_form(pages: _Pages, d: ReportData) -> None:
    f = d.monitoring_form
    if f is None:
        return
    pages.new_page()
    pages.heading("SPRAVATO® REMS Patient Monitoring Form — summary pre-filled from the recording", 12)
    pages.line(
        "Check every value against the chart before submitting the form to the REMS; patient name, birth date, "
        "concomitant medications and the healthcare setting are not in this recording.",
        size=8,
        color="#555555",
    )
    pages.y += 4
    for label, value in (
        ("Patient (pseudonym)", d.patient_id),
        ("Treatment date", f.treatment_date),
        ("Dose administered", f.dose),
        ("Lot number", f.lot),
        ("BP prior to administration", f.bp_prior),
        ("BP 40 min post-administration", f.bp_40_min),
        ("BP prior to session completion", f.bp_before_completion),
        ("Total time (minutes)", f"{f.total_minutes} (from 1st device administration to completion of monitoring)"),
        ("Ready to leave (minutes)", f"{f.ready_to_leave_minutes} minutes from start of administration"),
        ("Sedation", f.sedation + " (MOAA/S below 5 at any assessment)"),
        ("Dissociation", f.dissociation + " (CADSS dissociation at any assessment)"),
        ("Form due by", f.due_by + " (treatment date + 7 days)"),
        ("HCP conducting monitoring", d.clinician),
    ):
        pages.field(label, value, label_w=200)


def render_report(data: ReportData, path: Path) -> None:
    """Write the report of ``data`` as a PDF to ``path`` (overwritten). Raises ``ReportError``."""
    writer = QPdfWriter(str(path))
    writer.setResolution(72)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    writer.setTitle(f"Session report — session {data.session_id}")
    writer.setCreator("Session Monitor")
    painter = QPainter()
    if not painter.begin(writer):
        raise ReportError(f"cannot write {path}")
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pages = _Pages(painter, writer, data)
        _header(pages, data)
        _trend_plot(pages, data)
        _summary(pages, data)
        _signatures(pages, data)
        pages.new_page()
        pages.table("Alarm log", data.alarms, "No alarms.")
        pages.table("Observations (current version; amendments noted)", data.observations, "No observations.")
        _monitoring_form(pages, data)
        pages.footer()
    finally:
        painter.end()
