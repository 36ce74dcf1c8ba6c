"""Replay of a session this program recorded, through the ordinary driver interface.

Why: a prescriber or a tester wants to watch what the nurse saw (why did that alarm fire?), and a
real recorded session is the best demo and test input there is. So each recorded device becomes a
driver again: its readings (with their quality and flags; INVALID stays INVALID) and waveform
blocks are released as the session clock passes them, exactly as the live device delivered them,
and the core's live store, alarms and plots behave as they did.

Time mapping: the recorded session's start is mapped to ``start_at`` (the replayed session's start,
default: the session time at which the driver starts); every time shifts by that one constant.
Sources get a ``replay:`` prefix so nobody mistakes a replay for a live device. A recorded gap
(device LOST / NO_DATA) is simply a stretch without data: the core's watchdog does the rest.

The recording is read lazily in windows of session time through ``SessionReader`` (``t_from`` /
``t_to``), one short read at a time: a 4-hour session with a million pleth samples neither stalls
the start nor sits in memory twice. The clinical timeline (dose, observations, alarm settings) is
not a device's business: ``app.session_replay`` replays it through the core's public API.
"""

from __future__ import annotations

import collections
import logging
import math

from devices.paced import MAX_STEP_S, PacedDriver, Progress, due_count
from monitor.clock import Clock
from monitor.ports import DeviceInfo, DriverSink, SessionReader
from monitor.readings import Reading, WaveformBlock

log = logging.getLogger(__name__)

SOURCE_PREFIX = "replay:"
#: Session seconds read per window: at least this much ...
WINDOW_MIN_S = 60.0
#: ... or this many real seconds' worth at high speed (so a 60x replay reads once every few seconds).
WINDOW_REAL_S = 4.0
#: A waveform piece is released once this much real time of it is due (~40 ms at 1x), so the sweep
#: moves smoothly at 1x although the recording stores ~1 s chunks.
BLOCK_REAL_S = 0.04


def replay_source(source: str) -> str:
    """The replayed device's source: the recorded one, marked as a replay."""
    return SOURCE_PREFIX + source


class _Pending:
    """A recorded waveform chunk being released piece by piece (``sent`` samples so far)."""

    __slots__ = ("block", "sent")

    def __init__(self, block: WaveformBlock) -> None:
        self.block = block
        self.sent = 0


class RecordedSessionDriver(PacedDriver):
    """Plays one recorded device of one recorded session; STOPPED "end of recording" when done.

    ``device`` is the device as recorded (source, label, kind, stale time); ``end`` the recorded
    session's end (default: its ``ended``). An interrupted session (no end) plays until the last
    window, which is read open-ended from the last recorded event on (``end`` given by the caller)
    or never finishes when neither is known, which looks like what it was: a device falling silent.
    """

    def __init__(
        self,
        reader: SessionReader,
        session_id: int,
        clock: Clock,
        device: DeviceInfo,
        *,
        start_at: float | None = None,
        end: float | None = None,
    ) -> None:
        info = DeviceInfo(replay_source(device.source), f"{device.label} (replay)", device.kind, device.stale_after_s)
        super().__init__(clock, info)
        recorded = reader.session_info(session_id)  # StorageError (clear message) before any thread
        self._reader = reader
        self._session_id = session_id
        self._recorded_source = device.source
        self._rec_start = recorded.started
        self._rec_end = end if end is not None else recorded.ended
        self._start_at = start_at
        self._offset = 0.0  # replayed time - recorded time, fixed when the thread starts
        self._loaded_to: float | None = None  # recorded time up to which windows have been read
        self._exhausted = False  # the last (open-ended) window has been read
        self._emitted_to = self._rec_start  # recorded time up to which everything due has been emitted
        self._readings: collections.deque[Reading] = collections.deque()
        self._waves: dict[str, collections.deque[_Pending]] = {}

    @property
    def recorded_source(self) -> str:
        return self._recorded_source

    @property
    def offset_s(self) -> float:
        """What is added to every recorded time (valid once started)."""
        return self._offset

    def _open(self) -> None:
        assert self._origin is not None
        anchor = self._origin if self._start_at is None else self._start_at
        self._offset = anchor - self._rec_start

    def _finished_detail(self) -> str:
        return "end of recording"

    def _step(self, now: float, sink: DriverSink) -> Progress:
        rec_now = now - self._offset
        target = min(rec_now, self._emitted_to + MAX_STEP_S)  # bounded steps when catching up
        while not self._exhausted and (self._loaded_to is None or self._loaded_to <= target):
            self._read_window()
        self._emit_readings(target, sink)
        self._emit_waveforms(target, sink)
        self._emitted_to = max(self._emitted_to, target)
        if self._exhausted and not self._readings and not any(self._waves.values()):
            return Progress.FINISHED
        return Progress.BEHIND if target < rec_now else Progress.IDLE

    def _window_s(self) -> float:
        return min(max(WINDOW_MIN_S, WINDOW_REAL_S * self._clock.speed), MAX_STEP_S)

    def _read_window(self) -> None:
        """Read the next window of this device's readings and waveform chunks (chunks are selected
        by their start time, so every chunk is read exactly once). The first window starts at the
        beginning, the last one is open-ended, so nothing recorded is left out."""
        t_from = self._loaded_to
        t_to: float | None = (self._rec_start if t_from is None else t_from) + self._window_s()
        if self._rec_end is not None and t_to is not None and t_to >= self._rec_end:
            t_to = None
            self._exhausted = True
        src, sid = self._recorded_source, self._session_id
        readings = [r for r in self._reader.readings(sid, t_from=t_from, t_to=t_to) if r.source == src]
        blocks = [b for b in self._reader.waveforms(sid, t_from=t_from, t_to=t_to) if b.source == src]
        self._readings.extend(readings)
        for b in blocks:
            self._waves.setdefault(b.channel, collections.deque()).append(_Pending(b))
        self._loaded_to = t_to

    def _emit_readings(self, target: float, sink: DriverSink) -> None:
        out: list[Reading] = []
        src, off = self._info.source, self._offset
        while self._readings and self._readings[0].t <= target:
            r = self._readings.popleft()
            out.append(Reading(src, r.channel, r.t + off, r.value, r.quality, r.flags, r.device_t))
        if out:
            sink.put_readings(out)

    def _emit_waveforms(self, target: float, sink: DriverSink) -> None:
        """Release each channel's samples once their time has passed, in pieces of at least
        ``BLOCK_REAL_S`` real time (or the rest of a chunk)."""
        src, off = self._info.source, self._offset
        for channel, pending in self._waves.items():
            while pending:
                p = pending[0]
                b = p.block
                due = min(b.n, due_count(b.t0, b.fs, target))
                min_piece = max(1, math.ceil(BLOCK_REAL_S * self._clock.speed * b.fs))
                if due < b.n and due - p.sent < min_piece:
                    break
                if due > p.sent:
                    samples = b.samples[p.sent : due].copy()
                    sink.put_waveform(WaveformBlock(src, channel, b.t0 + p.sent / b.fs + off, b.fs, samples))
                    p.sent = due
                if p.sent < b.n:
                    break
                pending.popleft()


def recorded_session_drivers(
    reader: SessionReader,
    session_id: int,
    devices: list[DeviceInfo],
    clock: Clock,
    *,
    start_at: float | None = None,
    end: float | None = None,
    skip_sources: frozenset[str] = frozenset(),
) -> list[RecordedSessionDriver]:
    """One driver per recorded device (those in ``skip_sources`` left out, e.g. the manual-entry
    source whose readings come back with the replayed observations)."""
    return [
        RecordedSessionDriver(reader, session_id, clock, d, start_at=start_at, end=end)
        for d in devices
        if d.source not in skip_sources
    ]
