"""Masimo Rad-8 / Radical-5/7 serial "ASCII 1" output: one line a second of ``KEY=value`` tokens.

protocols.md §2.3. Parsed by token, never by column (models add and drop fields). A value with a
``-`` in it is "no value"; the EXC word (hex) carries the exception codes that decide quality.
The device clock (``MM/DD/YY HH:MM:SS`` at the start of the line) has no zone: it is read as the
workstation's local time and kept as ``device_t`` metadata only.
"""

from __future__ import annotations

import datetime as dt

from devices.decoding import DecoderSpec, DecoderStats, Measurement, note, register
from devices.protocols._common import numeric, worse
from devices.protocols._lines import LineSplitter
from monitor.readings import Flag, Quality

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


class MasimoAsciiDecoder:
    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._lines = LineSplitter(self.stats, "masimo-ascii")

    def feed(self, data: bytes) -> list[Measurement]:
        out: list[Measurement] = []
        for raw in self._lines.feed(data):
            self._line(raw.decode("ascii", "replace"), out)
        return out

    def _line(self, line: str, out: list[Measurement]) -> None:
        tokens = line.split()
        if not tokens:
            return
        fields: dict[str, str] = {}
        repeated = False
        for tok in tokens:
            key, sep, value = tok.partition("=")
            if sep:
                repeated |= key.upper() in fields  # two lines run together (a lost line end)
                fields[key.upper()] = value
        if repeated or "SPO2" not in fields or "BPM" not in fields:
            self.stats.rejected += 1
            note(self.stats, f"masimo-ascii: not an ASCII 1 line: {line[:60]!r}")
            return
        device_t = _device_time(tokens[0], tokens[1]) if len(tokens) >= 2 else None
        quality, flags = Quality.OK, Flag.NONE
        exc_text = fields.get("EXC")
        if exc_text is not None:
            try:
                quality, flags = exception_quality(int(exc_text, 16))
            except ValueError:
                note(self.stats, f"masimo-ascii: unreadable EXC={exc_text!r}")
                quality = Quality.QUESTIONABLE
        self.stats.frames += 1
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
