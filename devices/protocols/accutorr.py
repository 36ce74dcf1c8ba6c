"""Datascope Accutorr 3 / Accutorr Plus "PC Interface": plain ASCII, polled.

protocols.md §3.1. The host sends ``P``; the monitor answers
``P:SaO2,PR,sys,mean,dia,status0,status1,status2,minutes-since-NIBP`` + CRLF and a ``>`` prompt.
Unused fields show ``--``. Status bytes are read as decimal numbers (three-digit fields).

The monitor repeats its last cuff result in every answer, so NIBP is passed on only when a new
result appears (values change or the minutes-since counter goes back). A blank SaO2/PR with no
SaO2 status bit is an unused field (no oximeter module), not a reading: nothing is emitted for it,
so a cuff without SpO2 does not blank the oximeter's tile.

There is no checksum, so values pass only under a frame lock (``_common.FrameLock``): LOCK_LINES
patient-data lines in a row with every field as the manual writes it (1-3 digits or dashes, SaO2
at most 100, status bytes at most 255). A new cuff result is passed on only when the next answer
repeats it: the monitor repeats its last result in every answer, so a result one answer alone
shows is a damaged line (one poll, ~1 s, of latency on NIBP).
"""

from __future__ import annotations

import re

from devices.decoding import DecoderSpec, DecoderStats, Measurement, note, register
from devices.protocols._common import FrameLock, numeric, worse
from devices.protocols._lines import LineSplitter
from monitor.readings import Flag, Quality

POLL = b"P"
POLL_INTERVAL_S = 1.0
#: Patient-data lines in a row before values count (the first value comes one poll late).
LOCK_LINES = 2
_FIELD = re.compile(r"[0-9]{1,3}|-{1,3}")

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


def _field(text: str, top: int = 999) -> int | None:
    """``ddd`` → int, ``--`` → None; anything else (or above ``top``) raises ValueError."""
    if not _FIELD.fullmatch(text):
        raise ValueError(f"field {text!r} is not 1-3 digits or dashes")
    if text[0] == "-":
        return None
    value = int(text)
    if value > top:
        raise ValueError(f"field {text!r} above {top}")
    return value


class AccutorrDecoder:
    keepalive_interval_s: float | None = POLL_INTERVAL_S

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._lines = LineSplitter(self.stats, "accutorr")
        self._last_nibp: tuple[int | None, ...] | None = None  # the result last passed on
        self._candidate: tuple[int | None, ...] | None = None  # a new result waiting for the next answer
        self._last_minutes: int | None = None
        self._lock = FrameLock(self.stats, "accutorr", LOCK_LINES)

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
            self._bad(f"unexpected line {line[:60]!r}")
            return
        parts = line[2:].split(",")
        try:
            if len(parts) != 9:
                raise ValueError(f"{len(parts)} fields instead of 9")
            sao2 = _field(parts[0], 100)
            pr, sys, mean, dia, minutes = (_field(parts[k]) for k in (1, 2, 3, 4, 8))
            s0, s1, s2 = (_field(parts[k], 255) or 0 for k in (5, 6, 7))
        except ValueError as exc:
            self._bad(f"bad patient-data line ({exc}): {line[:60]!r}")
            return
        self.stats.frames += 1
        new_cycle = minutes is not None and self._last_minutes is not None and minutes < self._last_minutes
        self._last_minutes = minutes
        nibp = (sys, mean, dia, s2 & (CUFF_OVERPRESSURE | NIBP_MOTION))
        repeated = self._candidate is not None and nibp == self._candidate
        locked = self._lock.good()
        confirmed = repeated and locked
        if confirmed:  # two answers in a row show it: a real result
            self._candidate = None
            self._last_nibp = nibp
        else:
            fresh = nibp != self._last_nibp or new_cycle
            no_result_yet = self._last_nibp is None and (sys, mean, dia) == (None, None, None)
            self._candidate = nibp if fresh and not no_result_yet else None
        if not locked:
            return
        if s1 & STATUS1_SELF_TEST:
            common: tuple[Quality, Flag] = (Quality.INVALID, Flag.NO_VALUE)
        elif s1 & STATUS1_FAULTS:
            common = (Quality.QUESTIONABLE, Flag.SENSOR_FAULT)
        else:
            common = (Quality.OK, Flag.NONE)

        if sao2 is not None or pr is not None or s0 & 0x7F:
            q, f = _bits(STATUS0, s0)
            q, f = worse(q, common[0]), f | common[1]
            out.append(numeric("spo2", sao2 if sao2 is not None and sao2 > 0 else None, q, f))
            out.append(numeric("pr", pr if pr is not None and pr > 0 else None, q, f))
        if not confirmed:
            return
        q, f = common
        if s2 & CUFF_OVERPRESSURE:
            q, f = Quality.INVALID, f | Flag.SENSOR_FAULT
        if s2 & NIBP_MOTION:
            q, f = worse(q, Quality.QUESTIONABLE), f | Flag.ARTEFACT
        for channel, value in (("nibp_sys", sys), ("nibp_map", mean), ("nibp_dia", dia)):
            out.append(numeric(channel, value if value is not None and value > 0 else None, q, f))

    def _bad(self, reason: str) -> None:
        self.stats.rejected += 1
        note(self.stats, f"accutorr: {reason}")
        self._lock.bad(reason)
        self._candidate = None


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
