"""Small pieces every decoder shares: building measurements that never turn "no value" into 0,
emitting numerics at the device's display rate rather than its frame rate, and the frame lock."""

from __future__ import annotations

import math

from devices.decoding import DecoderStats, Measurement, note
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
    finger coming out must not wait for the next second. The period counts every well-formed frame
    from the first, so it keeps the device's phase; a due emission waits while the frame lock says
    the values are not ``ready``. Depends only on the frame sequence, so any split of the byte
    stream gives the same measurements.
    """

    __slots__ = ("_count", "_every", "_pending", "_state")

    def __init__(self, every: int) -> None:
        self._every = every
        self._count = every - 1
        self._pending = False
        self._state: object = None

    def due(self, state: object, ready: bool = True) -> bool:
        self._count += 1
        if self._count >= self._every:
            self._count = 0
            self._pending = True
        if ready and (self._pending or state != self._state):
            self._pending = False
            self._state = state
            return True
        return False


_SAME = object()


class FrameLock:
    """Values count only after ``need`` consecutive well-formed frames; one malformed frame, or
    stray bytes where the next frame should start, and the decoder searches again.

    A protocol without a checksum cannot tell one damaged frame from a good one: random bytes pass
    its sync bits now and then. A run of frames back to back at the protocol's frame length, every
    field in its specified range, does not happen by chance; that is how oximeter software decides
    it has a signal ("searching" until then). ``steady`` counts the frames of the run that carried
    the same numbers (``good(key)``): where a device repeats its display values in every frame, a
    number only one or two frames show is a damaged frame, not the device.
    The state is in ``stats.locked`` for the device test ("searching for signal").
    """

    __slots__ = ("_key", "_name", "_need", "_run", "_stats", "steady")

    def __init__(self, stats: DecoderStats, name: str, need: int) -> None:
        self._stats = stats
        self._name = name
        self._need = need
        self._run = 0
        self._key: object = _SAME
        self.steady = 0
        stats.locked = False

    @property
    def locked(self) -> bool:
        return self._run >= self._need

    def good(self, key: object = _SAME) -> bool:
        """A well-formed frame (with the values ``key`` where the caller compares them); True once locked."""
        self._run += 1
        if key is not _SAME:
            if key == self._key:
                self.steady += 1
            else:
                self._key, self.steady = key, 1
        if self._run == self._need:
            self._stats.locked = True
        return self._run >= self._need

    def bad(self, reason: str) -> None:
        """A malformed frame or stray bytes: back to searching."""
        if self._run >= self._need:
            self._stats.lock_losses += 1
            note(self._stats, f"{self._name}: frame lock lost ({reason}); searching for signal")
        self._run = 0
        self._key, self.steady = _SAME, 0
        self._stats.locked = False
