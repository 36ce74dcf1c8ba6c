"""Small pieces every decoder shares: building measurements that never turn "no value" into 0, and
emitting numerics at the device's display rate rather than its frame rate."""

from __future__ import annotations

import math

from devices.decoding import Measurement
from monitor.readings import Flag, Quality


def numeric(channel: str, value: float | None, quality: Quality, flags: Flag, device_t: float | None = None) -> Measurement:
    """A measurement; a missing value (the device's "no value" marker) becomes INVALID + NO_VALUE."""
    if quality is Quality.INVALID:
        return Measurement(channel, math.nan, Quality.INVALID, flags, device_t)
    if value is None:
        return Measurement(channel, math.nan, Quality.INVALID, flags | Flag.NO_VALUE, device_t)
    return Measurement(channel, float(value), quality, flags, device_t)


def worse(a: Quality, b: Quality) -> Quality:
    return a if a >= b else b


class RateGate:
    """Lets numerics through once every ``every`` frames, and at once when their status changes.

    Oximeters repeat their numbers in every frame (60-75 per second); the trend wants ~1 Hz, but a
    finger coming out must not wait for the next second. Depends only on the frame sequence, so
    any split of the byte stream gives the same measurements.
    """

    __slots__ = ("_count", "_every", "_state")

    def __init__(self, every: int) -> None:
        self._every = every
        self._count = every - 1
        self._state: object = None

    def due(self, state: object) -> bool:
        self._count += 1
        if self._count >= self._every or state != self._state:
            self._count = 0
            self._state = state
            return True
        return False
