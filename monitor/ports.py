"""The interfaces the layers meet at. ``monitor`` declares them, the siblings implement them, ``app``
passes the instances in; so devices, recordings and ui never import each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from monitor.events import SessionEvent, TechnicalNotice
from monitor.readings import DeviceStatus, Reading, WaveformBlock
from monitor.session import SessionInfo


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a driver tells the core about itself when it starts."""

    source: str  # unique in a session: "sim:oximeter", "serial:ttyUSB0", "replay:s25047"
    label: str  # for the nurse: "Simulated pulse oximeter"
    kind: str  # "oximeter", "nibp", "replay", ...
    stale_after_s: float  # session seconds of silence after which the device counts as "no data"


class DriverSink(Protocol):
    """Where drivers deliver. Every method is thread-safe and returns at once (it only queues)."""

    def register_device(self, info: DeviceInfo) -> None: ...
    def put_readings(self, readings: list[Reading]) -> None: ...
    def put_waveform(self, block: WaveformBlock) -> None: ...
    def put_status(self, status: DeviceStatus) -> None: ...


class Driver(Protocol):
    """A device: owns its transport and its thread; never lets an exception escape that thread."""

    @property
    def info(self) -> DeviceInfo: ...
    def start(self, sink: DriverSink) -> None: ...
    def stop(self, timeout_s: float = 5.0) -> None: ...


class RecordingSink(Protocol):
    """The recorder as the core sees it.

    ``submit_*`` only queue (the writer thread commits in ~1 s batches); the session methods commit
    synchronously before they return, because they are clinician input.
    """

    def begin_session(self, info: SessionInfo) -> int: ...
    def update_session(self, info: SessionInfo) -> None: ...
    def add_event(self, session_id: int, event: SessionEvent) -> None: ...
    def register_device(self, session_id: int, info: DeviceInfo) -> None: ...
    def submit_readings(self, session_id: int, readings: list[Reading]) -> None: ...
    def submit_waveform(self, session_id: int, block: WaveformBlock) -> None: ...
    def submit_event(self, session_id: int, event: SessionEvent) -> None: ...


class NoticeSink(Protocol):
    def post_notice(self, notice: TechnicalNotice) -> None: ...
