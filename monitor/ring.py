"""Bounded time series for live data: memory is fixed when the buffer is made, however long the session.

Samples are appended in time order and always lie contiguous in one array (capacity is doubled
internally and the newest half is moved to the front when the end is reached), so a snapshot is
one slice copy and a time window is one ``searchsorted``. One writer thread, any reader thread.
"""

from __future__ import annotations

import threading

import numpy as np


class TimeSeriesBuffer:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = int(capacity)
        self._t = np.full(2 * self._capacity, np.nan)
        self._v = np.full(2 * self._capacity, np.nan)
        self._start = 0
        self._end = 0
        self._total = 0  # samples ever appended: lets a reader tell whether anything changed
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def total_appended(self) -> int:
        return self._total

    def __len__(self) -> int:
        return self._end - self._start

    def append(self, t: float, value: float) -> None:
        with self._lock:
            self._make_room(1)
            self._t[self._end] = t
            self._v[self._end] = value
            self._end += 1
            self._total += 1

    def extend(self, t: np.ndarray, values: np.ndarray) -> None:
        """Append many samples (a waveform block); only the newest ``capacity`` are kept."""
        n = len(t)
        if n == 0:
            return
        if n > self._capacity:
            t, values = t[-self._capacity :], values[-self._capacity :]
        with self._lock:
            m = len(t)
            self._make_room(m)
            self._t[self._end : self._end + m] = t
            self._v[self._end : self._end + m] = values
            self._end += m
            self._total += n

    def _make_room(self, n: int) -> None:
        if self._end - self._start + n > self._capacity:  # drop the oldest
            self._start = self._end + n - self._capacity
        if self._end + n > len(self._t):  # compact: move the kept part to the front
            keep = self._end - self._start
            self._t[:keep] = self._t[self._start : self._end]
            self._v[:keep] = self._v[self._start : self._end]
            self._start, self._end = 0, keep

    def snapshot(self, since: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Copies of (t, value) for samples with t >= ``since`` (all kept samples if None)."""
        with self._lock:
            t = self._t[self._start : self._end]
            v = self._v[self._start : self._end]
            if since is not None and len(t):
                i = int(np.searchsorted(t, since, side="left"))
                t, v = t[i:], v[i:]
            return t.copy(), v.copy()

    def last(self) -> tuple[float, float] | None:
        with self._lock:
            if self._end == self._start:
                return None
            return float(self._t[self._end - 1]), float(self._v[self._end - 1])
