"""One injectable session clock, so every timestamp in a session comes from the same source.

``SessionClock`` reads the wall clock once and then advances with ``time.monotonic()``: an NTP step
during a session cannot fold the time axis. ``speed`` > 1 runs session time faster than real time
(simulated sessions and tests: a 2-hour session in seconds); readings are then stamped in session
time, so a recording made at 60x looks exactly like one made at 1x.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Current session time, UTC epoch seconds."""
        ...

    @property
    def speed(self) -> float:
        """Session seconds per real second."""
        ...


class SessionClock:
    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if not 0 < speed <= 10_000:
            raise ValueError(f"speed must be between 0 and 10000, got {speed}")
        self._speed = float(speed)
        self._anchor_utc = time.time() if start is None else float(start)
        self._anchor_mono = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        return self._anchor_utc + (time.monotonic() - self._anchor_mono) * self._speed

    def real_seconds(self, session_seconds: float) -> float:
        """How long to wait in real time for ``session_seconds`` of session time to pass."""
        return session_seconds / self._speed


class FakeClock:
    """A clock the test moves by hand; thread-safe so drivers in threads can read it."""

    def __init__(self, start: float = 1_800_000_000.0, speed: float = 1.0) -> None:
        self._t = float(start)
        self._speed = speed
        self._lock = threading.Lock()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._t += seconds
            return self._t

    def set(self, t: float) -> None:
        with self._lock:
            self._t = float(t)
