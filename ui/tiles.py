"""Big numeric tiles: the numbers a nurse reads from across the room.

Each tile shows the latest reading of its channel from ``LiveStore.latest`` in the channel colour,
'--' when there is no usable value (none yet, INVALID, or too old to be trusted as current) and a
'?' marker when the device flagged the value QUESTIONABLE. NIBP is episodic, so its tile also says
how old the cuff reading is and greys out once it is older than the NIBP interval.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from monitor.channels import CHANNELS, format_value
from monitor.core import LiveStore
from monitor.readings import Flag, Quality, Reading
from ui import theme

#: A numeric (HR, SpO2, RR) older than this is not shown as current: the device has gone quiet.
NUMERIC_STALE_S = 30.0
#: An NIBP reading older than this is greyed out (clinical.md requirement 26; clinic-configurable).
NIBP_STALE_S = 15 * 60.0
#: The live cuff pressure is shown while readings keep coming; a cuff sends it several times a second.
CUFF_LIVE_S = 5.0

_FLAG_TEXT = (
    (Flag.PROBE_OFF, "probe off"),
    (Flag.SENSOR_FAULT, "sensor fault"),
    (Flag.NO_VALUE, "no value"),
    (Flag.IMPLAUSIBLE, "implausible value"),
    (Flag.ARTEFACT, "artefact"),
    (Flag.SEARCHING, "searching"),
    (Flag.LOW_PERFUSION, "low perfusion"),
)


def flags_text(flags: Flag) -> str:
    """Why the device did not give a plain OK value, as short words for the tile's note line."""
    return ", ".join(text for flag, text in _FLAG_TEXT if flags & flag)


def duration_text(seconds: float) -> str:
    """'45 s', '2 min', '1 h 05 min': coarse on purpose, so the text changes rarely."""
    s = max(0.0, seconds)
    if s < 60:
        return f"{int(s)} s"
    if s < 3600:
        return f"{int(s // 60)} min"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def age_text(age_s: float) -> str:
    """How long ago an episodic value was measured: '2 min ago'."""
    return f"{duration_text(age_s)} ago"


def _set_text(label: QLabel, text: str) -> None:
    """setText only on change: a label that did not change costs nothing at frame rate."""
    if label.text() != text:
        label.setText(text)


class FitLabel(QLabel):
    """A label whose font grows to fill its box for a template text ('888'), never below ``min_px``.

    Its size policy is Ignored, so the font follows the tile size instead of the tile following the
    font: a bigger screen gets bigger numbers, a smaller one still fits, and a changing value never
    moves the layout.
    """

    def __init__(self, template: str, min_px: int, max_px: int) -> None:
        super().__init__("--")
        self._template = template
        self._min_px = min_px
        self._max_px = max_px
        self.setFont(theme.font(min_px, bold=True, numeric=True))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._metrics = QFontMetrics(theme.font(100, bold=True, numeric=True))
        self._w100 = max(1, self._metrics.horizontalAdvance(template))
        self._h100 = max(1, self._metrics.ascent() + self._metrics.descent())
        self.setMinimumSize(int(self._w100 * min_px / 100) + 2, int(self._h100 * min_px / 100))

    @property
    def pixel_size(self) -> int:
        return self.font().pixelSize()

    def setText(self, text: str) -> None:
        super().setText(text)
        if self._metrics.horizontalAdvance(text) > self._w100:  # wider than planned: shrink, never clip
            self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit()
        super().resizeEvent(event)

    def _fit(self) -> None:
        w100 = max(self._w100, self._metrics.horizontalAdvance(self.text()))
        px = int(min(100 * self.width() / w100, 100 * self.height() / self._h100))
        px = max(self._min_px, min(self._max_px, px))
        if px != self.font().pixelSize():
            self.setFont(theme.font(px, bold=True, numeric=True))


class NumericTile(QFrame):
    """One parameter: title and unit on top, the value large in the channel colour, a note beside or below.

    ``template`` is the widest text the value takes ('888', '888/888'): the font is fitted to it.
    """

    def __init__(
        self,
        title: str,
        unit: str,
        colour: str,
        template: str = "888",
        secondary_px: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        self._colour = colour
        self._stale = False
        self._alarm: str | None = None  # alarm colour while the flash is lit (ui.alarm_panel)
        note_below = secondary_px > 0  # a wide value (NIBP) leaves no room beside it

        self._title = QLabel(title)
        self._title.setFont(theme.font(theme.LABEL_PX, bold=True))
        self._unit = QLabel(unit)
        self._unit.setFont(theme.font(theme.SMALL_PX))
        self._unit.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)

        self._value = FitLabel(template, theme.VALUE_MIN_PX, theme.VALUE_MAX_PX)
        self._value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._secondary = QLabel("")  # NIBP mean, beside the note under the value
        self._secondary.setFont(theme.font(max(secondary_px, 1), bold=True, numeric=True))
        self._secondary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._secondary.setVisible(secondary_px > 0)
        # wide enough for any mean pressure, so a new value never has to wait for a re-layout
        self._secondary.setMinimumWidth(QFontMetrics(self._secondary.font()).horizontalAdvance("(888)") + 2)
        self._marker = QLabel("")
        self._marker.setFont(theme.font(40, bold=True))
        self._marker.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._marker.setFixedWidth(30)
        self._marker.setToolTip("questionable: the device flagged this value")

        self._note = QLabel("")
        self._note.setFont(theme.font(theme.SMALL_PX))
        self._note.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self._title)
        top.addStretch(1)
        top.addWidget(self._unit)
        middle = QHBoxLayout()
        middle.setSpacing(6)
        if not note_below:
            self._note.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
            self._note.setFixedWidth(120)
            middle.addWidget(self._note)
        middle.addWidget(self._value, 1)
        middle.addWidget(self._marker)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        if note_below:
            bottom = QHBoxLayout()
            bottom.addWidget(self._note, 1)
            bottom.addWidget(self._secondary)
            bottom.addSpacing(36)  # under the value, clear of the '?' marker column
            layout.addLayout(bottom)
        self._apply_colours()

    # ---- read back (tests, accessibility) ----
    @property
    def title_text(self) -> str:
        return self._title.text()

    @property
    def value_text(self) -> str:
        return self._value.text()

    @property
    def secondary_text(self) -> str:
        return self._secondary.text()

    @property
    def marker_text(self) -> str:
        return self._marker.text()

    @property
    def note_text(self) -> str:
        return self._note.text()

    @property
    def stale(self) -> bool:
        return self._stale

    @property
    def alarm_colour(self) -> str | None:
        return self._alarm

    def set_alarm(self, colour: str | None) -> None:
        """Show the tile in an alarm colour (None: normal); restyled only on change, so the
        alarm panel can call it every frame while flashing."""
        if colour != self._alarm:
            self._alarm = colour
            self._apply_colours()

    # ---- update ----
    def set_title(self, title: str) -> None:
        _set_text(self._title, title)

    def show_value(
        self, value: str, secondary: str = "", questionable: bool = False, note: str = "", stale: bool = False
    ) -> None:
        """Show a value; every label is only touched when its text actually changes."""
        _set_text(self._value, value)
        _set_text(self._secondary, secondary)
        _set_text(self._marker, "?" if questionable else "")
        _set_text(self._note, note)
        if stale != self._stale:
            self._stale = stale
            self._apply_colours()

    def _apply_colours(self) -> None:
        """Style sheets are only set here (construction, stale toggles): re-polishing per frame is slow."""
        value_colour = theme.TEXT_STALE if self._stale else self._colour
        if self._alarm is not None:  # lit alarm flash: black on the alarm colour
            self.setStyleSheet(f"QFrame#tile {{ background: {self._alarm}; border: 2px solid {self._alarm}; }}")
            for label in (self._title, self._unit, self._value, self._secondary, self._marker, self._note):
                label.setStyleSheet("color: #000000;")
            return
        self.setStyleSheet("")
        self._title.setStyleSheet(f"color: {self._colour};")
        self._unit.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self._value.setStyleSheet(f"color: {value_colour};")
        self._secondary.setStyleSheet(f"color: {value_colour};")
        self._marker.setStyleSheet(f"color: {self._colour};")
        self._note.setStyleSheet(f"color: {theme.TEXT_DIM};")


def _unit_label(code: str) -> str:
    """UCUM code → what a nurse expects to read ('mm[Hg]' → 'mmHg', 'Cel' → '°C')."""
    ucum = CHANNELS[code].ucum
    return {"mm[Hg]": "mmHg", "Cel": "°C"}.get(ucum, ucum)


class TilesPanel(QWidget):
    """The right-hand column: HR (or PR), SpO2, NIBP and RR tiles, refreshed from the live store."""

    def __init__(
        self,
        store: LiveStore,
        numeric_stale_s: float = NUMERIC_STALE_S,
        nibp_stale_s: float = NIBP_STALE_S,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._numeric_stale_s = numeric_stale_s
        self._nibp_stale_s = nibp_stale_s
        self.hr = NumericTile(CHANNELS["hr"].label, _unit_label("hr"), theme.channel_colour("hr"))
        self.spo2 = NumericTile(CHANNELS["spo2"].label, _unit_label("spo2"), theme.channel_colour("spo2"))
        self.nibp = NumericTile("NIBP", _unit_label("nibp_sys"), theme.channel_colour("nibp_sys"), "888/888", secondary_px=40)
        self.rr = NumericTile(CHANNELS["rr"].label, _unit_label("rr"), theme.channel_colour("rr"))
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(6)
        self.columns = 0
        self.set_columns(1)

    def set_columns(self, columns: int) -> None:
        """One column of four tiles, or a 2 × 2 block on a screen too low for four (issue 14)."""
        if columns == self.columns:
            return
        self.columns = columns
        tiles = (self.hr, self.spo2, self.nibp, self.rr)
        for tile in tiles:
            self._grid.removeWidget(tile)
        for row in range(4):
            self._grid.setRowStretch(row, 0)
        for i, tile in enumerate(tiles):
            self._grid.addWidget(tile, i // columns, i % columns)
            self._grid.setRowStretch(i // columns, 1)

    @Slot(float)
    def refresh(self, now: float) -> None:
        """Show the latest values; cheap when nothing changed (labels are only set on change)."""
        self._refresh_heart_rate(now)
        self._refresh_numeric(self.spo2, "spo2", self._store.latest("spo2"), now)
        self._refresh_numeric(self.rr, "rr", self._store.latest("rr"), now)
        self._refresh_nibp(now)

    def _fresh(self, r: Reading | None, now: float) -> bool:
        return r is not None and now - r.t <= self._numeric_stale_s

    def _refresh_heart_rate(self, now: float) -> None:
        """HR from the ECG when there is one; the oximeter's pulse rate otherwise."""
        hr, pr = self._store.latest("hr"), self._store.latest("pr")
        use_pr = pr is not None and (hr is None or (not self._fresh(hr, now) and self._fresh(pr, now)))
        code, reading = ("pr", pr) if use_pr else ("hr", hr)
        self.hr.set_title(CHANNELS[code].label)
        self._refresh_numeric(self.hr, code, reading, now)

    def _refresh_numeric(self, tile: NumericTile, code: str, r: Reading | None, now: float) -> None:
        if r is None:
            tile.show_value("--")
            return
        age = now - r.t
        if age > self._numeric_stale_s:
            tile.show_value("--", note=f"no update for {duration_text(age)}")
            return
        if r.quality is Quality.INVALID or math.isnan(r.value):
            tile.show_value("--", note=flags_text(r.flags) or "no value")
            return
        questionable = r.quality is Quality.QUESTIONABLE
        tile.show_value(format_value(code, r.value), questionable=questionable, note=flags_text(r.flags))

    def _inflating(self, now: float, after: float) -> str:
        """'Cuff inflating 142 mmHg' while a cuff streams its live pressure (BLE 0x2A36) newer than
        its last result, so the nurse knows a measurement is under way."""
        cuff = self._store.latest("cuff")
        if cuff is None or not cuff.valid or cuff.t <= after or now - cuff.t > CUFF_LIVE_S:
            return ""
        return f"Cuff inflating {format_value('cuff', cuff.value)} mmHg"

    def _refresh_nibp(self, now: float) -> None:
        """'sys/dia' large, '(map)' under it beside the age of the cuff reading."""
        sys_r = self._store.latest("nibp_sys")
        dia_r = self._store.latest("nibp_dia")
        map_r = self._store.latest("nibp_map")
        if sys_r is None and dia_r is None and map_r is None:
            self.nibp.show_value("--/--", note=self._inflating(now, -math.inf))
            return
        newest = max((r for r in (sys_r, dia_r, map_r) if r is not None), key=lambda r: r.t)
        cycle = [r for r in (sys_r, dia_r, map_r) if r is not None and abs(r.t - newest.t) < 60.0]

        def part(r: Reading | None, code: str) -> str:
            if r is None or not any(r is c for c in cycle):
                return "--"
            return format_value(code, r.value)  # NaN (INVALID) formats as '--'

        value = f"{part(sys_r, 'nibp_sys')}/{part(dia_r, 'nibp_dia')}"
        mean = part(map_r, "nibp_map")
        secondary = f"({mean})" if mean != "--" or value != "--/--" else ""
        age = now - newest.t
        clock = time.strftime("%H:%M", time.localtime(newest.t))
        note = f"{age_text(age)} · {clock}"
        why = flags_text(newest.flags)
        if why:
            note = f"{note} · {why}"
        inflating = self._inflating(now, newest.t)
        if inflating:
            note = f"{inflating} · last {note}"
        questionable = any(r.quality is Quality.QUESTIONABLE for r in cycle)
        self.nibp.show_value(value, secondary, questionable, note, stale=age > self._nibp_stale_s)
