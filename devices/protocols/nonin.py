"""Nonin pulse oximeters (OEM III, Xpod, WristOx2 3150, 9560): serial data formats 2, 7 and 8.

protocols.md §2.2. Format 2 is the documented one: 5-byte frames ``01 STATUS PLETH DATA CHK`` at
75/s, 25 frames to a packet (SYNC bit in frame 0's status), HR (9 bits) and SpO2 spread over the
DATA bytes by frame index. CHK is the sum of the four bytes before it — start byte included, as the
vendor numbers the bytes 1-5 and format 7 documents the same sum over bytes 0-3.

Format 7 (16-bit pleth, status in place of the start byte) follows systole's reading of the spec;
format 8 (a 4-byte record per second) is the community's best guess. Both are marked unverified
until checked against the Nonin PDF.

Values pass only under a frame lock (``_common.FrameLock``): formats 2 and 7 need their frames back
to back with good checksums and the SYNC bit exactly every 25th frame; format 8, which has no
checksum, needs NONIN8_LOCK records in a row with every field in range.
"""

from __future__ import annotations

import math

from devices.decoding import DecoderSpec, DecoderStats, Measurement, WaveformChunk, note, register
from devices.protocols._common import FrameLock, RateGate, numeric, worse
from monitor.readings import Flag, Quality

FRAMES_PER_S = 75
FRAMES_PER_PACKET = 25
PLETH_FS = 75.0
HR_MISSING = 511
SPO2_MISSING = 127

# STATUS bits
SNSD = 0x40  # sensor disconnect
ARTF = 0x20  # artefact
OOT = 0x10  # out of track
SNSA = 0x08  # sensor alarm: unusable data
RPRF = 0x04  # red perfusion
GPRF = 0x02  # green perfusion
SYNC = 0x01  # frame 0 of a packet
_ALARMS = SNSD | ARTF | OOT | SNSA
#: Format 2/7 frames in a row before the pleth counts (the numbers need SYNC + frames 0-2 anyway).
PACKET_LOCK = 3
#: Format 8 records in a row before values count: random bytes pass one record check in ~800
#: positions, three in a row ~1 in 5e8 (2e-3 per MB); the first value comes 2 s late.
NONIN8_LOCK = 3


def status_quality(status: int) -> tuple[Quality, Flag]:
    """STATUS bits → quality. Perfusion is a 2-bit pattern: green only = good, red only = low,
    both = yellow (marginal). Test the pattern, never "either bit" (§6 pitfall 4)."""
    quality, flags = Quality.OK, Flag.NONE
    if status & SNSD:
        quality, flags = Quality.INVALID, flags | Flag.PROBE_OFF
    if status & SNSA:
        quality, flags = Quality.INVALID, flags | Flag.SENSOR_FAULT
    if status & ARTF:
        quality, flags = worse(quality, Quality.QUESTIONABLE), flags | Flag.ARTEFACT
    if status & OOT:
        quality, flags = worse(quality, Quality.QUESTIONABLE), flags | Flag.SEARCHING
    if (status & (RPRF | GPRF)) in (RPRF, RPRF | GPRF):
        quality, flags = worse(quality, Quality.QUESTIONABLE), flags | Flag.LOW_PERFUSION
    return quality, flags


def _hr(msb: int, lsb: int) -> int | None:
    hr = (msb & 0x03) << 7 | (lsb & 0x7F)  # OR, not AND (§6 pitfall 5)
    return None if hr == HR_MISSING or hr == 0 else hr


def _spo2(value: int) -> int | None:
    return value if 0 < value <= 100 else None  # 127 = missing


def _fields_ok(hr_msb: int, spo2: int) -> bool:
    """HR MSB carries HR bits 8-7 only (bits 6-2 zero); SpO2 is 0-100 or the 127 marker."""
    return not hr_msb & 0x7C and (spo2 <= 100 or spo2 == SPO2_MISSING)


class _NoninPacketDecoder:
    """Formats 2 and 7: frames at 75/s, packets of 25 frames; numerics once a second."""

    _name = "nonin"
    _pleth_scale = 1.0 / 255.0

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._pleth: list[float] = []
        self._synced = False
        self._idx: int | None = None  # frame index in the current packet; None: wait for SYNC
        self._status_acc = 0
        self._hr_msb = 0
        self._hr_lsb = 0
        self._gate = RateGate(3)  # 3 packets a second
        self._lock = FrameLock(self.stats, self._name, PACKET_LOCK)

    def take_waveform(self) -> list[WaveformChunk]:
        if not self._pleth:
            return []
        chunk = WaveformChunk("pleth", PLETH_FS, self._pleth)
        self._pleth = []
        return [chunk]

    def _frame_at(self, buf: bytearray, i: int) -> tuple[int, int, int] | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def feed(self, data: bytes) -> list[Measurement]:
        out: list[Measurement] = []
        buf = self._buf
        buf += data
        n, i = len(buf), 0
        stats = self.stats
        while n - i >= 5:
            frame = self._frame_at(buf, i)
            if frame is None:
                if self._synced:
                    stats.rejected += 1
                    note(stats, f"{self._name}: bad frame (checksum or start byte)")
                    self._synced = False
                    self._idx = None
                self._lock.bad("bad frame")
                stats.skipped_bytes += 1
                i += 1
                continue
            self._synced = True
            self._on_frame(*frame, out)
            i += 5
        del buf[:i]
        return out

    def _on_frame(self, status: int, pleth: float, data: int, out: list[Measurement]) -> None:
        self.stats.frames += 1
        if status & SYNC:
            if self._idx is not None and self._idx != FRAMES_PER_PACKET - 1:  # SYNC out of place
                self._malformed(f"SYNC after frame {self._idx} of a packet")
            self._idx, self._status_acc = 0, 0
        elif self._idx is not None:
            self._idx += 1
            if self._idx >= FRAMES_PER_PACKET:  # SYNC missing: do not guess the frame index
                self._malformed("SYNC missing after 25 frames")
                self._idx = None
        if self._lock.good():
            self._pleth.append(math.nan if status & SNSD else pleth)
        idx = self._idx
        if idx is None or idx > 2:
            return
        self._status_acc |= status & _ALARMS
        if idx == 0:
            self._hr_msb = data
        elif idx == 1:
            self._hr_lsb = data
        elif not _fields_ok(self._hr_msb, data):
            self._malformed(f"field out of range (HR MSB 0x{self._hr_msb:02X}, SpO2 {data})")
            self._idx = None
        elif self._lock.locked:  # SpO2 frame: the packet's numbers are complete
            quality, flags = status_quality(self._status_acc | status & (RPRF | GPRF))
            hr, spo2 = _hr(self._hr_msb, self._hr_lsb), _spo2(data)
            if self._gate.due((quality, flags, hr is None, spo2 is None)):
                out.append(numeric("pr", hr, quality, flags))
                out.append(numeric("spo2", spo2, quality, flags))

    def _malformed(self, reason: str) -> None:
        self.stats.rejected += 1
        note(self.stats, f"{self._name}: {reason}")
        self._lock.bad(reason)


class Nonin2Decoder(_NoninPacketDecoder):
    _name = "nonin-2"

    def _frame_at(self, buf: bytearray, i: int) -> tuple[int, float, int] | None:
        status, pleth, data = buf[i + 1], buf[i + 2], buf[i + 3]
        if buf[i] != 0x01 or not status & 0x80 or (1 + status + pleth + data) & 0xFF != buf[i + 4]:
            return None
        return status, pleth * self._pleth_scale, data


class Nonin7Decoder(_NoninPacketDecoder):
    _name = "nonin-7"
    _pleth_scale = 1.0 / 65535.0

    def _frame_at(self, buf: bytearray, i: int) -> tuple[int, float, int] | None:
        status, hi, lo, data = buf[i], buf[i + 1], buf[i + 2], buf[i + 3]
        if not status & 0x80 or (status + hi + lo + data) & 0xFF != buf[i + 4]:
            return None
        return status, (hi << 8 | lo) * self._pleth_scale, data


class Nonin8Decoder:
    """Format 8 as far as it is known: one 4-byte record a second, STATUS (bit 7 = 1), HR MSB,
    HR LSB, SpO2 (data bytes bit 7 = 0). No checksum, so framing relies on bit 7, the field
    ranges and the frame lock."""

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._lock = FrameLock(self.stats, "nonin-8", NONIN8_LOCK)

    def feed(self, data: bytes) -> list[Measurement]:
        out: list[Measurement] = []
        buf = self._buf
        buf += data
        n, i = len(buf), 0
        stats = self.stats
        while i < n:
            if not buf[i] & 0x80:
                j = i + 1
                while j < n and not buf[j] & 0x80:
                    j += 1
                stats.skipped_bytes += j - i
                self._lock.bad("stray bytes between records")
                i = j
                continue
            if n - i < 4:
                break
            cut = next((k for k in range(1, 4) if buf[i + k] & 0x80), None)
            if cut is not None:
                self._malformed("truncated record")
                stats.skipped_bytes += cut
                i += cut
                continue
            if not _fields_ok(buf[i + 1], buf[i + 3]):
                self._malformed(f"field out of range (HR MSB 0x{buf[i + 1]:02X}, SpO2 {buf[i + 3]})")
                stats.skipped_bytes += 1
                i += 1
                continue
            stats.frames += 1
            if self._lock.good():
                quality, flags = status_quality(buf[i])
                out.append(numeric("pr", _hr(buf[i + 1], buf[i + 2]), quality, flags))
                out.append(numeric("spo2", _spo2(buf[i + 3]), quality, flags))
            i += 4
        del buf[:i]
        return out

    def _malformed(self, reason: str) -> None:
        self.stats.rejected += 1
        note(self.stats, f"nonin-8: {reason}")
        self._lock.bad(reason)


register(
    DecoderSpec(
        "nonin-2",
        "Nonin serial data format #2: 5-byte frames 75/s with checksum, 8-bit pleth, HR/SpO2 per 1/3 s packet (9600 8N1)",
        Nonin2Decoder,
        transport="serial",
        input="bytes",
        default_baud=9600,
        line_rate_bytes_s=FRAMES_PER_S * 5,
        usb_ids=((0x0403, 0x6001),),  # FTDI FT232R, common RS-232 adapters
    )
)
register(
    DecoderSpec(
        "nonin-7",
        "Nonin serial data format #7: as #2 with 16-bit pleth (layout per systole; unverified against the Nonin PDF)",
        Nonin7Decoder,
        transport="serial",
        input="bytes",
        default_baud=9600,
        line_rate_bytes_s=FRAMES_PER_S * 5,
    )
)
register(
    DecoderSpec(
        "nonin-8",
        "Nonin serial data format #8: 4-byte record once a second (status, HR MSB, HR LSB, SpO2; unverified against the Nonin PDF)",
        Nonin8Decoder,
        transport="serial",
        input="bytes",
        default_baud=9600,
        line_rate_bytes_s=4,
    )
)
