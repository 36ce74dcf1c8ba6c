"""What every sans-I/O decoder produces, and the registry behind ``session-monitor decode``.

A decoder turns device bytes into ``Measurement``s: a value of a registry channel with the
device's own quality flags and timestamp, but no host time and no source — the driver adds those
(``to_readings``) when it hands them to the core. Decoders never raise on bad input: they count
what they reject (``stats``) and resynchronise.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from monitor.readings import Flag, Quality, Reading


@dataclass(frozen=True, slots=True)
class Measurement:
    channel: str  # monitor.channels code
    value: float  # NaN when quality is INVALID
    quality: Quality = Quality.OK
    flags: Flag = Flag.NONE
    device_t: float | None = None  # device timestamp (epoch s) where the protocol has one


@dataclass(slots=True)
class DecoderStats:
    frames: int = 0  # frames decoded
    rejected: int = 0  # frames refused: checksum, length, reserved bits
    skipped_bytes: int = 0  # bytes dropped while resynchronising
    # frame lock (protocols without a checksum, devices.protocols._common.FrameLock): False while the
    # decoder is "searching for signal" and passes no values; None: the decoder has no frame lock
    locked: bool | None = None
    lock_losses: int = 0  # times a malformed frame broke the lock
    notes: list[str] = field(default_factory=list)  # last few reasons, for the "test" button and logs


class Decoder(Protocol):
    """Bytes in, measurements out. ``feed`` keeps partial frames between calls."""

    stats: DecoderStats

    def feed(self, data: bytes) -> list[Measurement]: ...


# ---- optional decoder abilities (checked with isinstance; plain decoders need none of them) ------


@dataclass(frozen=True, slots=True)
class WaveformChunk:
    """Waveform samples a decoder found since the last ``take_waveform()``, in device order.

    ``fs`` is the protocol's nominal sample rate; the driver stamps the chunk with host time and
    turns it into a ``WaveformBlock``. NaN samples are gaps (probe off).
    """

    channel: str  # monitor.channels waveform code, e.g. "pleth"
    fs: float
    samples: list[float]


@runtime_checkable
class WaveformDecoder(Protocol):
    """A decoder whose protocol also carries a waveform (CMS50 and Nonin pleth).

    Waveforms are not ``Measurement``s: at 60-75 Hz they would swamp the numeric path, so the
    decoder keeps them aside and the driver collects them after each ``feed``.
    """

    def take_waveform(self) -> list[WaveformChunk]: ...


@runtime_checkable
class ConversingDecoder(Protocol):
    """A decoder for a device that must be talked to: asked to start, kept alive, polled or ACKed.

    Still sans-I/O: it only says which bytes to send; the driver writes them.
    """

    keepalive_interval_s: float | None  # None: no periodic bytes

    def start_commands(self) -> bytes:
        """Bytes to send once the port is open (empty: none)."""
        ...

    def keepalive(self) -> bytes:
        """Bytes to send every ``keepalive_interval_s`` (keep-alive, poll)."""
        ...

    def take_replies(self) -> bytes:
        """Bytes the protocol wants sent in answer to what was fed (e.g. HL7 ACKs)."""
        ...


def note(stats: DecoderStats, reason: str, keep: int = 10) -> None:
    """Remember a rejection reason (the last ``keep`` only) for the "Test" button and the logs."""
    stats.notes.append(reason)
    if len(stats.notes) > keep:
        del stats.notes[: len(stats.notes) - keep]


@dataclass(frozen=True, slots=True)
class DecoderSpec:
    name: str  # CLI protocol name: "cms50-v7", "ble-bpm", ...
    description: str
    factory: Callable[[], Decoder]
    transport: str  # "serial" | "ble"
    input: str  # "bytes" (a raw stream) | "hex-lines" (one characteristic value per line, as hex)
    default_baud: int | None = None
    line_rate_bytes_s: float | None = None  # the device's nominal data rate, for the benchmark
    # ---- serial devices: what the driver and the catalog need, declared once with the decoder ----
    device_kind: str = "oximeter"  # DeviceInfo.kind: "oximeter" | "nibp" | "monitor" ...
    stale_after_s: float = 10.0  # session seconds of silence before "no data" (polled cuffs, HL7 send less often)
    parity: str = "N"  # line settings, as pyserial spells them ("N", "E", "O"); ptys and sockets ignore them
    bytesize: int = 8
    stopbits: float = 1
    usb_ids: tuple[tuple[int, int], ...] = ()  # USB VID:PID of cables that ship with the device: offer it first
    usb_rank: int = 0  # among the protocols offered for one cable, lower comes first


REGISTRY: dict[str, DecoderSpec] = {}

#: Packages whose import registers their decoders.
_DECODER_PACKAGES = ("devices.protocols", "devices.ble")


def register(spec: DecoderSpec) -> DecoderSpec:
    if spec.name in REGISTRY and REGISTRY[spec.name] is not spec:
        raise ValueError(f"decoder {spec.name!r} registered twice")
    REGISTRY[spec.name] = spec
    return spec


def load_all() -> dict[str, DecoderSpec]:
    """Import every decoder package (each registers itself) and return the registry."""
    for package in _DECODER_PACKAGES:
        try:
            importlib.import_module(package)
        except ModuleNotFoundError as exc:
            if exc.name != package:  # a real import error inside the package is a bug
                raise
    return REGISTRY


def to_readings(source: str, measurements: list[Measurement], t: float) -> list[Reading]:
    """Stamp decoded measurements with the host receive time (authoritative) and the source."""
    out = []
    for m in measurements:
        value = math.nan if m.quality is Quality.INVALID else m.value
        out.append(Reading(source, m.channel, t, value, m.quality, m.flags, m.device_t))
    return out
