"""The value types that cross every layer: one Reading, one WaveformBlock, one DeviceStatus."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from monitor.channels import CHANNELS


class Quality(enum.IntEnum):
    """How far a value can be trusted; stored as an integer, so never renumber."""

    OK = 0
    QUESTIONABLE = 1  # device flagged artefact / low perfusion / searching: shown, but marked
    INVALID = 2  # probe off, no value, implausible: never shown as a number, plots as a gap


class Flag(enum.IntFlag):
    """Why a reading is not plainly OK, as the device said it (stored as an integer bit set)."""

    NONE = 0
    PROBE_OFF = 1  # finger out / sensor off
    ARTEFACT = 2  # motion or other artefact
    SEARCHING = 4  # pulse search, value not yet settled
    LOW_PERFUSION = 8
    NO_VALUE = 16  # device sent its "no value" marker (MIMIC 0, blank cuff field, ...)
    SENSOR_FAULT = 32  # probe error / device fault
    IMPLAUSIBLE = 64  # outside the channel's plausibility range (monitor.channels): the core's verdict, not the device's


@dataclass(frozen=True, slots=True)
class Reading:
    """One numeric value of one channel at one instant.

    ``t`` is the host receive time on the session clock (UTC epoch seconds) and is authoritative;
    ``device_t`` is the device's own timestamp when the protocol has one (metadata only).
    An INVALID reading's value is NaN, except an IMPLAUSIBLE one: it keeps the number the device
    sent, so the recording can be reviewed; nothing shows or alarms on an INVALID value.
    """

    source: str  # "sim:oximeter", "serial:ttyUSB0", "replay:s25047", ...
    channel: str  # a code of monitor.channels.CHANNELS
    t: float
    value: float
    quality: Quality = Quality.OK
    flags: Flag = Flag.NONE
    device_t: float | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel code {self.channel!r}")
        if self.quality is Quality.INVALID and not self.flags & Flag.IMPLAUSIBLE and not math.isnan(self.value):
            object.__setattr__(self, "value", math.nan)

    @property
    def unit(self) -> str:
        """UCUM unit of the channel (one unit per channel, so it is not repeated per reading)."""
        return CHANNELS[self.channel].ucum

    @property
    def valid(self) -> bool:
        return self.quality is not Quality.INVALID

    @staticmethod
    def invalid(source: str, channel: str, t: float, flags: Flag, device_t: float | None = None) -> Reading:
        """A "no value" reading: records that the device was there but gave nothing usable."""
        return Reading(source, channel, t, math.nan, Quality.INVALID, flags, device_t)


@dataclass(frozen=True, slots=True, eq=False)
class WaveformBlock:
    """Consecutive samples of one waveform channel; sample i was taken at ``t0 + i / fs``.

    NaN samples are gaps (probe off, sensor start-up).
    """

    source: str
    channel: str
    t0: float
    fs: float
    samples: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel code {self.channel!r}")
        if not self.fs > 0:
            raise ValueError(f"sampling rate must be positive, got {self.fs}")

    @property
    def n(self) -> int:
        return int(self.samples.shape[0])

    @property
    def t_end(self) -> float:
        """Time the sample after the last one is due: where the next contiguous block starts."""
        return self.t0 + self.n / self.fs


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    NO_DATA = "no data"  # connected, but silent for longer than the device's interval
    LOST = "lost"  # port vanished, device disconnected, replay file missing
    STOPPED = "stopped"  # stopped on purpose (end of session, end of replay)


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's link state changed; ``detail`` is shown to the nurse verbatim."""

    source: str
    state: LinkState
    t: float
    detail: str = ""
