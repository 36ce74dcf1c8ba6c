"""Contec CMS50D+/E/F pulse oximeters: the old 5-byte live stream and the V7.0 packet protocol.

protocols.md §2.1. Both stream ~60 frames/s carrying pleth, pulse rate and SpO2; numerics are
passed on at ~1 Hz (and at once when the probe status changes), the pleth as a waveform.
Pulse rates above 127 bpm need bit 7 from a separate byte in both protocols — ketamine can cause
tachycardia, so the MSB is always restored, never masked away (§6 pitfall 3).

Neither protocol has a checksum, so values pass only under a frame lock (``_common.FrameLock``):
LOCK_FRAMES well-formed frames back to back, each field in its specified range (signal strength
0-8, SpO2 0-100 or the 0x7F marker, V7 byte 4 bits 5-7 zero), and numerics only when the last
STEADY_FRAMES frames carry the same numbers: the device repeats its display values in all 60
frames of a second, so a number fewer frames show is a damaged frame.
"""

from __future__ import annotations

import math

from devices.decoding import DecoderSpec, DecoderStats, Measurement, WaveformChunk, note, register
from devices.protocols._common import FrameLock, RateGate, numeric
from monitor.readings import Flag, Quality

FRAMES_PER_S = 60
PLETH_FS = 60.0
_PLETH_SCALE = 1.0 / 127.0
#: Frames back to back before values count: random bytes pass one live-5 frame check in ~70
#: positions, five in a row ~1 in 2e9 (5e-4 per MB); 5 frames are 83 ms of a clean stream.
LOCK_FRAMES = 5
#: Frames that must carry the same numbers before they are passed on (33 ms of latency).
STEADY_FRAMES = 3
MAX_SIGNAL = 8  # signal strength 0-8 (protocols.md §2.1)
SPO2_INVALID = 0x7F


def _pr(value: int) -> int | None:
    """0 and 255 are "no pulse rate" (a live patient never has 0 bpm)."""
    return value if 0 < value < 255 else None


def _spo2(value: int) -> int | None:
    """0x7F (127) is the documented "invalid"; 0 and anything above 100 cannot be a saturation."""
    return value if 0 < value <= 100 else None


def _status(probe_off: bool, sensor_fault: bool, searching: bool) -> tuple[Quality, Flag]:
    if probe_off or sensor_fault:
        return Quality.INVALID, Flag.PROBE_OFF | (Flag.SENSOR_FAULT if sensor_fault else Flag.NONE)
    if searching:
        return Quality.QUESTIONABLE, Flag.SEARCHING
    return Quality.OK, Flag.NONE


def _spo2_field_ok(value: int) -> bool:
    return value <= 100 or value == SPO2_INVALID


class _Cms50Base:
    _name = "cms50"

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._pleth: list[float] = []
        self._gate = RateGate(FRAMES_PER_S)
        self._lock = FrameLock(self.stats, self._name, LOCK_FRAMES)

    def take_waveform(self) -> list[WaveformChunk]:
        if not self._pleth:
            return []
        chunk = WaveformChunk("pleth", PLETH_FS, self._pleth)
        self._pleth = []
        return [chunk]

    def _stray(self, count: int) -> None:
        """Bytes where the next frame should start: not the device's cadence."""
        self.stats.skipped_bytes += count
        self._lock.bad("stray bytes between frames")

    def _malformed(self, reason: str) -> None:
        self.stats.rejected += 1
        note(self.stats, f"{self._name}: {reason}")
        self._lock.bad(reason)

    def _realtime(self, out: list[Measurement], pleth: int, pr: int, spo2: int, quality: Quality, flags: Flag) -> None:
        self.stats.frames += 1
        pr_v, spo2_v = _pr(pr), _spo2(spo2)
        locked = self._lock.good((quality, flags, pr_v, spo2_v))
        ready = locked and self._lock.steady >= STEADY_FRAMES
        due = self._gate.due((quality, flags, pr_v is None, spo2_v is None), ready)
        if not locked:
            return
        self._pleth.append(math.nan if quality is Quality.INVALID else pleth * _PLETH_SCALE)
        if due:
            out.append(numeric("pr", pr_v, quality, flags))
            out.append(numeric("spo2", spo2_v, quality, flags))


class Cms50Live5Decoder(_Cms50Base):
    """The old unsolicited 5-byte stream: byte0 bit7 = 1 (sync), bytes 1-4 bit7 = 0."""

    _name = "cms50-live5"

    def feed(self, data: bytes) -> list[Measurement]:
        out: list[Measurement] = []
        buf = self._buf
        buf += data
        n, i = len(buf), 0
        while i < n:
            if not buf[i] & 0x80:  # not a sync byte: we are between frames
                j = i + 1
                while j < n and not buf[j] & 0x80:
                    j += 1
                self._stray(j - i)
                i = j
                continue
            if n - i < 5:
                break
            b0, b1, b2, b3, b4 = buf[i], buf[i + 1], buf[i + 2], buf[i + 3], buf[i + 4]
            if (b1 | b2 | b3 | b4) & 0x80:  # a sync byte inside: this frame was cut short
                cut = next(k for k in range(1, 5) if buf[i + k] & 0x80)
                self.stats.skipped_bytes += cut
                self._malformed("truncated frame")
                i += cut
                continue
            if b0 & 0x0F > MAX_SIGNAL or not _spo2_field_ok(b4):
                self.stats.skipped_bytes += 1
                self._malformed(f"field out of range (signal {b0 & 0x0F}, SpO2 {b4})")
                i += 1
                continue
            quality, flags = _status(probe_off=bool(b0 & 0x10), sensor_fault=bool(b2 & 0x10), searching=bool(b2 & 0x20))
            self._realtime(out, b1, ((b2 & 0x40) << 1) | b3, b4, quality, flags)
            i += 5
        del buf[:i]
        return out


#: V7.0 uplink packet lengths by type (protocols.md §2.1 b).
V7_LENGTHS = {
    0x01: 9, 0x04: 9, 0x05: 9, 0x07: 8, 0x08: 8, 0x09: 6, 0x0A: 4, 0x0B: 4, 0x0C: 2,
    0x0D: 3, 0x0E: 3, 0x0F: 8, 0x10: 3, 0x11: 9, 0x12: 8, 0x15: 9,
}  # fmt: skip

CMD_START_REALTIME = 0xA1
CMD_STOP_REALTIME = 0xA2
CMD_KEEPALIVE = 0xAF


def v7_control(cmd: int) -> bytes:
    """Downlink control packet ``7D 81 <cmd> 80 80 80 80 80 80``: the command's MSB rides in byte1."""
    return bytes((0x7D, 0x80 | (cmd >> 7) & 1, 0x80 | cmd & 0x7F, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80))


class Cms50V7Decoder(_Cms50Base):
    """Contec "Communication Protocol of Pulse Oximeter V7.0": typed packets, byte1 carries bit 7
    of every following byte. The device only streams after ``A1`` and stops without the ``AF``
    keep-alive, so the driver sends ``start_commands()`` and ``keepalive()`` once a second."""

    _name = "cms50-v7"
    keepalive_interval_s: float | None = 1.0

    def start_commands(self) -> bytes:
        return v7_control(CMD_START_REALTIME)

    def keepalive(self) -> bytes:
        return v7_control(CMD_KEEPALIVE)

    def take_replies(self) -> bytes:
        return b""

    def feed(self, data: bytes) -> list[Measurement]:
        out: list[Measurement] = []
        buf = self._buf
        buf += data
        n, i = len(buf), 0
        stats = self.stats
        while i < n:
            length = V7_LENGTHS.get(buf[i])  # None also for any byte with bit 7 set
            if length is None:
                j = i + 1
                while j < n and buf[j] not in V7_LENGTHS:
                    j += 1
                self._stray(j - i)
                i = j
                continue
            if n - i < length:
                # wait for the rest, unless what we already have shows the packet was cut short
                cut = next((k for k in range(1, n - i) if not buf[i + k] & 0x80), None)
                if cut is None:
                    break
            else:
                cut = next((k for k in range(1, length) if not buf[i + k] & 0x80), None)
            if cut is not None:
                stats.skipped_bytes += cut
                self._malformed(f"packet 0x{buf[i]:02X} cut short after {cut} bytes")
                i += cut
                continue
            if buf[i] == 0x01:
                hb = buf[i + 1]
                s2 = buf[i + 2] & 0x7F | (hb & 0x01) << 7
                s3 = buf[i + 3] & 0x7F | (hb & 0x02) << 6
                s4 = buf[i + 4] & 0x7F | (hb & 0x04) << 5
                pr = buf[i + 5] & 0x7F | (hb & 0x08) << 4
                spo2 = buf[i + 6] & 0x7F | (hb & 0x10) << 3
                if s2 & 0x0F > MAX_SIGNAL or s4 & 0xE0 or not _spo2_field_ok(spo2):
                    stats.skipped_bytes += 1
                    self._malformed(f"real-time packet field out of range (signal {s2 & 0x0F}, byte 4 0x{s4:02X}, SpO2 {spo2})")
                    i += 1
                    continue
                quality, flags = _status(probe_off=bool(s2 & 0x90), sensor_fault=bool(s2 & 0x80), searching=bool(s3 & 0x80))
                self._realtime(out, s3 & 0x7F, pr, spo2, quality, flags)
            else:
                stats.frames += 1  # a valid packet we have no use for (device ID, storage, ...)
                self._lock.good()
            i += length
        del buf[:i]
        return out


register(
    DecoderSpec(
        "cms50-live5",
        "Contec CMS50D+/E (older firmware): unsolicited 5-byte live stream, 60/s (19200 8O1 or 4800 8N1: probe both)",
        Cms50Live5Decoder,
        transport="serial",
        input="bytes",
        default_baud=19200,
        line_rate_bytes_s=FRAMES_PER_S * 5,
        parity="O",  # 19200 8O1
        usb_ids=((0x10C4, 0xEA60),),  # Silicon Labs CP210x, in Contec CMS50 cables
        usb_rank=1,
    )
)
register(
    DecoderSpec(
        "cms50-v7",
        "Contec CMS50D+ v4.6+/E/F/FW/I: V7.0 packet protocol, 0x01 real-time packets 60/s, host sends start + keep-alive (115200 8N1)",
        Cms50V7Decoder,
        transport="serial",
        input="bytes",
        default_baud=115200,
        line_rate_bytes_s=FRAMES_PER_S * 9,
        usb_ids=((0x10C4, 0xEA60),),  # Silicon Labs CP210x, in Contec CMS50 cables
    )
)
