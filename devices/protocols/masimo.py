"""Masimo Rad-8 / Radical-5/7 serial "ASCII 1" output: one line a second of ``KEY=value`` tokens.

protocols.md §2.3. Parsed by token, never by column (models add and drop fields). A value with a
``-`` in it is "no value"; the EXC word (hex) carries the exception codes that decide quality.
The device clock (``MM/DD/YY HH:MM:SS`` at the start of the line) has no zone: it is read as the
workstation's local time and kept as ``device_t`` metadata only.

There is no checksum, so values pass only under a frame lock (``_common.FrameLock``): LOCK_LINES
lines in a row that read as the manual prints them (date and time, then ``KEY=value`` tokens of
printable ASCII, SPO2 and BPM three digits or dashes, EXC and ALARM hex).
"""

from __future__ import annotations

import datetime as dt
import re

from devices.decoding import DecoderSpec, DecoderStats, Measurement, note, register
from devices.protocols._common import FrameLock, numeric, worse
from devices.protocols._lines import LineSplitter
from monitor.readings import Flag, Quality

#: Lines in a row before values count (the first value comes one line, ~1 s, late).
LOCK_LINES = 2
_TOKEN = re.compile(r"[A-Z][A-Z0-9]*=[!-~]*")
_VALUE = {
    "SPO2": re.compile(r"([0-9]{3}|-{3})%"),
    "BPM": re.compile(r"[0-9]{3}|-{3}"),
    "EXC": re.compile(r"[0-9A-Fa-f]{1,8}"),
    "ALARM": re.compile(r"[0-9A-Fa-f]{1,8}"),
}

#: EXC bit → (quality, flag) (Rad-8 manual table; MD PnP ``poxrad_discrete.h``).
EXCEPTIONS: dict[int, tuple[Quality, Flag, str]] = {
    0x001: (Quality.INVALID, Flag.PROBE_OFF | Flag.SENSOR_FAULT, "no sensor"),
    0x002: (Quality.INVALID, Flag.SENSOR_FAULT, "defective sensor"),
    0x004: (Quality.QUESTIONABLE, Flag.LOW_PERFUSION, "low perfusion"),
    0x008: (Quality.QUESTIONABLE, Flag.SEARCHING, "pulse search"),
    0x010: (Quality.QUESTIONABLE, Flag.ARTEFACT, "interference"),
    0x020: (Quality.INVALID, Flag.PROBE_OFF, "sensor off"),
    0x040: (Quality.QUESTIONABLE, Flag.ARTEFACT, "ambient light"),
    0x080: (Quality.INVALID, Flag.SENSOR_FAULT, "unrecognized sensor"),
    0x100: (Quality.INVALID, Flag.SENSOR_FAULT, "incompatible sensor"),
    0x400: (Quality.QUESTIONABLE, Flag.ARTEFACT, "low signal IQ"),
    # 0x800 "Masimo SET" is an information bit, not a problem.
}


def exception_quality(exc: int) -> tuple[Quality, Flag]:
    quality, flags = Quality.OK, Flag.NONE
    for bit, (q, f, _) in EXCEPTIONS.items():
        if exc & bit:
            quality, flags = worse(quality, q), flags | f
    return quality, flags


def _number(text: str | None) -> float | None:
    """'098%' → 98.0; '--.-%', '---', '' → None (the device's "no value")."""
    if text is None:
        return None
    text = text.rstrip("%")
    if not text or "-" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _device_time(date: str, clock: str) -> float | None:
    try:
        return dt.datetime.strptime(f"{date} {clock}", "%m/%d/%y %H:%M:%S").timestamp()
    except ValueError:
        return None


def _malformed(tokens: list[str]) -> str | None:
    """Why a line is not an ASCII 1 line as the manual prints it, or None."""
    if len(tokens) < 4 or _device_time(tokens[0], tokens[1]) is None:
        return "no date and time at the start"
    seen: set[str] = set()
    for tok in tokens[2:]:
        if not _TOKEN.fullmatch(tok):
            return f"token {tok[:20]!r} is not KEY=value"
        key, _, value = tok.partition("=")
        if key in seen:
            return f"{key} twice (two lines run together?)"
        seen.add(key)
        pattern = _VALUE.get(key)
        if pattern is not None and not pattern.fullmatch(value):
            return f"{key}={value[:12]!r} is not as the manual prints it"
    if not {"SPO2", "BPM"} <= seen:
        return "no SPO2= and BPM="
    return None


class MasimoAsciiDecoder:
    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._lines = LineSplitter(self.stats, "masimo-ascii")
        self._lock = FrameLock(self.stats, "masimo-ascii", LOCK_LINES)

    def feed(self, data: bytes) -> list[Measurement]:
        out: list[Measurement] = []
        for raw in self._lines.feed(data):
            self._line(raw.decode("ascii", "replace"), out)
        return out

    def _line(self, line: str, out: list[Measurement]) -> None:
        tokens = line.split()
        if not tokens:
            return
        reason = _malformed(tokens)
        if reason is not None:
            self.stats.rejected += 1
            note(self.stats, f"masimo-ascii: not an ASCII 1 line ({reason}): {line[:60]!r}")
            self._lock.bad(reason)
            return
        fields = dict(tok.partition("=")[::2] for tok in tokens[2:])
        self.stats.frames += 1
        if not self._lock.good():
            return
        device_t = _device_time(tokens[0], tokens[1])
        quality, flags = Quality.OK, Flag.NONE
        exc_text = fields.get("EXC")
        if exc_text is not None:
            quality, flags = exception_quality(int(exc_text, 16))
        spo2, bpm = _number(fields["SPO2"]), _number(fields["BPM"])
        out.append(numeric("spo2", spo2 if spo2 is not None and 0 < spo2 <= 100 else None, quality, flags, device_t))
        out.append(numeric("pr", bpm if bpm is not None and bpm > 0 else None, quality, flags, device_t))


register(
    DecoderSpec(
        "masimo-ascii",
        "Masimo Rad-8 / Radical-5/7 'ASCII 1' serial output (set the device to ASCII 1), one line a second (9600 8N1)",
        MasimoAsciiDecoder,
        transport="serial",
        input="bytes",
        default_baud=9600,
        line_rate_bytes_s=135,
        usb_ids=((0x0403, 0x6001),),  # FTDI FT232R, common RS-232 adapters
        usb_rank=1,
    )
)
