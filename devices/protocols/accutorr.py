"""Datascope Accutorr 3 / Accutorr Plus "PC Interface": plain ASCII, polled.

protocols.md §3.1. The host sends ``P``; the monitor answers
``P:SaO2,PR,sys,mean,dia,status0,status1,status2,minutes-since-NIBP`` + CRLF and a ``>`` prompt.
Unused fields show ``--``. Status bytes are read as decimal numbers (three-digit fields).

The monitor repeats its last cuff result in every answer, so NIBP is passed on only when a new
result appears (values change or the minutes-since counter goes back). A blank SaO2/PR with no
SaO2 status bit is an unused field (no oximeter module), not a reading: nothing is emitted for it,
so a cuff without SpO2 does not blank the oximeter's tile.
"""

from __future__ import annotations

from devices.decoding import DecoderSpec, DecoderStats, Measurement, note, register
from devices.protocols._common import numeric, worse
from devices.protocols._lines import LineSplitter
from monitor.readings import Flag, Quality

POLL = b"P"
POLL_INTERVAL_S = 1.0

#: status 0 (all SaO2) bit → quality (bit order per the OCR of the service manual; confirm on the page image).
STATUS0: dict[int, tuple[Quality, Flag]] = {
    0x01: (Quality.INVALID, Flag.PROBE_OFF | Flag.SENSOR_FAULT),  # no sensor
    0x02: (Quality.INVALID, Flag.PROBE_OFF),  # sensor off
    0x04: (Quality.QUESTIONABLE, Flag.ARTEFACT),  # interference
    0x08: (Quality.QUESTIONABLE, Flag.SEARCHING),  # pulse search
    0x10: (Quality.QUESTIONABLE, Flag.LOW_PERFUSION),  # weak pulse
    0x20: (Quality.INVALID, Flag.NO_VALUE),  # no pulse
    0x40: (Quality.QUESTIONABLE, Flag.ARTEFACT),  # check site
    # 0x80 PR < 30 is an alarm, not a quality problem
}
#: status 1: uncalibrated, RAM/ROM fail, offset / filter mismatch spoil everything; self-test is not patient data.
STATUS1_FAULTS = 0x02 | 0x08 | 0x10 | 0x20
STATUS1_SELF_TEST = 0x40
#: status 2 (NIBP)
CUFF_OVERPRESSURE = 0x01
NIBP_MOTION = 0x02


def _bits(table: dict[int, tuple[Quality, Flag]], value: int) -> tuple[Quality, Flag]:
    quality, flags = Quality.OK, Flag.NONE
    for bit, (q, f) in table.items():
        if value & bit:
            quality, flags = worse(quality, q), flags | f
    return quality, flags


def _field(text: str) -> int | None:
    text = text.strip()
    if not text or "-" in text:
        return None
    return int(text)  # ValueError → the caller rejects the line


class AccutorrDecoder:
    keepalive_interval_s: float | None = POLL_INTERVAL_S

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._lines = LineSplitter(self.stats, "accutorr")
        self._last_nibp: tuple[int | None, ...] | None = None
        self._last_minutes: int | None = None

    def start_commands(self) -> bytes:
        return POLL

    def keepalive(self) -> bytes:
        return POLL

    def take_replies(self) -> bytes:
        return b""

    def feed(self, data: bytes) -> list[Measurement]:
        out: list[Measurement] = []
        for raw in self._lines.feed(data):
            self._line(raw.decode("ascii", "replace").lstrip("> \t"), out)
        return out

    def _line(self, line: str, out: list[Measurement]) -> None:
        if not line or line.startswith(("ACCUTORR", "L:")):  # power-up banner, alarm limits
            return
        if not line.startswith("P:"):
            self.stats.rejected += 1
            note(self.stats, f"accutorr: unexpected line {line[:60]!r}")
            return
        parts = line[2:].split(",")
        try:
            if len(parts) != 9:
                raise ValueError(f"{len(parts)} fields instead of 9")
            sao2, pr, sys, mean, dia, minutes = (_field(parts[k]) for k in (0, 1, 2, 3, 4, 8))
            s0, s1, s2 = (_field(parts[k]) or 0 for k in (5, 6, 7))
        except ValueError as exc:
            self.stats.rejected += 1
            note(self.stats, f"accutorr: bad patient-data line ({exc}): {line[:60]!r}")
            return
        self.stats.frames += 1
        if s1 & STATUS1_SELF_TEST:
            common: tuple[Quality, Flag] = (Quality.INVALID, Flag.NO_VALUE)
        elif s1 & STATUS1_FAULTS:
            common = (Quality.QUESTIONABLE, Flag.SENSOR_FAULT)
        else:
            common = (Quality.OK, Flag.NONE)

        if sao2 is not None or pr is not None or s0 & 0x7F:
            q, f = _bits(STATUS0, s0)
            q, f = worse(q, common[0]), f | common[1]
            out.append(numeric("spo2", sao2 if sao2 is not None and 0 < sao2 <= 100 else None, q, f))
            out.append(numeric("pr", pr if pr is not None and pr > 0 else None, q, f))

        nibp = (sys, mean, dia, s2 & (CUFF_OVERPRESSURE | NIBP_MOTION))
        last = self._last_nibp
        new_cycle = last is not None and minutes is not None and self._last_minutes is not None and minutes < self._last_minutes
        self._last_minutes = minutes
        if (last is None and (sys, mean, dia) == (None, None, None)) or (nibp == last and not new_cycle):
            self._last_nibp = nibp if last is not None else None
            return
        self._last_nibp = nibp
        q, f = common
        if s2 & CUFF_OVERPRESSURE:
            q, f = Quality.INVALID, f | Flag.SENSOR_FAULT
        if s2 & NIBP_MOTION:
            q, f = worse(q, Quality.QUESTIONABLE), f | Flag.ARTEFACT
        for channel, value in (("nibp_sys", sys), ("nibp_map", mean), ("nibp_dia", dia)):
            out.append(numeric(channel, value if value is not None and value > 0 else None, q, f))


register(
    DecoderSpec(
        "accutorr",
        "Datascope Accutorr 3 / Accutorr Plus PC interface: polled ASCII, SpO2/PR and NIBP (baud as set in the monitor's menu; 8N1)",
        AccutorrDecoder,
        transport="serial",
        input="bytes",
        default_baud=9600,
        line_rate_bytes_s=45,
        device_kind="nibp",
        usb_ids=((0x0403, 0x6001),),  # FTDI FT232R, common RS-232 adapters
        usb_rank=2,
    )
)
