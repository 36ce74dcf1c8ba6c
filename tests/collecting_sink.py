"""One ``DriverSink`` for the driver tests (simulated, WFDB replay, recorded-session replay): keeps
everything a driver delivers, in arrival order and thread-safely, and notes anything handed over
before its time had come — what a live device could never do."""

from __future__ import annotations

import threading

import numpy as np

from monitor.clock import Clock
from monitor.ports import DeviceInfo
from monitor.readings import DeviceStatus, LinkState, Reading, WaveformBlock


class CollectingSink:
    """``early`` holds readings stamped after the clock and waveform blocks whose last sample is
    after it (``block_due="first"``: whose first sample is — for drivers that hand a block over
    when it starts); ``ended`` is set when a device reports STOPPED or LOST; ``calls`` lists
    registrations and status changes in order."""

    def __init__(self, clock: Clock, *, block_due: str = "last") -> None:
        self._clock = clock
        self._last_sample = block_due == "last"
        self._lock = threading.Lock()
        self.infos: list[DeviceInfo] = []
        self.readings: list[Reading] = []
        self.blocks: list[WaveformBlock] = []
        self.statuses: list[DeviceStatus] = []
        self.early: list[object] = []
        self.calls: list[str] = []
        self.ended = threading.Event()

    def register_device(self, info: DeviceInfo) -> None:
        with self._lock:
            self.infos.append(info)
            self.calls.append(f"register:{info.source}")

    def put_readings(self, readings: list[Reading]) -> None:
        now = self._clock.now()
        with self._lock:
            self.readings.extend(readings)
            self.early.extend(r for r in readings if r.t > now + 1e-6)

    def put_waveform(self, block: WaveformBlock) -> None:
        now = self._clock.now()
        due = block.t0 + (block.n - 1) / block.fs if self._last_sample else block.t0
        with self._lock:
            self.blocks.append(block)
            if due > now + 1e-6:
                self.early.append(block)

    def put_status(self, status: DeviceStatus) -> None:
        with self._lock:
            self.statuses.append(status)
            self.calls.append(f"status:{status.source}:{status.state.value}")
        if status.state in (LinkState.STOPPED, LinkState.LOST):
            self.ended.set()

    def of(self, channel: str, source: str | None = None) -> list[Reading]:
        with self._lock:
            return [r for r in self.readings if r.channel == channel and (source is None or r.source == source)]

    def waveform(self, channel: str) -> tuple[list[WaveformBlock], np.ndarray]:
        """The channel's blocks and all their samples, in arrival order."""
        with self._lock:
            blocks = [b for b in self.blocks if b.channel == channel]
        return blocks, np.concatenate([b.samples for b in blocks]) if blocks else np.zeros(0)

    def pleth(self) -> tuple[np.ndarray, np.ndarray, list[WaveformBlock]]:
        """Every pleth sample with its own time, and the blocks."""
        blocks, samples = self.waveform("pleth")
        if not blocks:
            return np.zeros(0), np.zeros(0), []
        return np.concatenate([b.t0 + np.arange(b.n) / b.fs for b in blocks]), samples, blocks

    def stopped(self, sources: set[str]) -> bool:
        with self._lock:
            return sources <= {s.source for s in self.statuses if s.state is LinkState.STOPPED}
