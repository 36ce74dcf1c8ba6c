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
from typing import Protocol

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
    notes: list[str] = field(default_factory=list)  # last few reasons, for the "test" button and logs


class Decoder(Protocol):
    """Bytes in, measurements out. ``feed`` keeps partial frames between calls."""

    stats: DecoderStats

    def feed(self, data: bytes) -> list[Measurement]: ...


@dataclass(frozen=True, slots=True)
class DecoderSpec:
    name: str  # CLI protocol name: "cms50-v7", "ble-bpm", ...
    description: str
    factory: Callable[[], Decoder]
    transport: str  # "serial" | "ble"
    input: str  # "bytes" (a raw stream) | "hex-lines" (one characteristic value per line, as hex)
    default_baud: int | None = None
    line_rate_bytes_s: float | None = None  # the device's nominal data rate, for the benchmark


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
