"""The interfaces the layers meet at. ``monitor`` declares them, the siblings implement them, ``app``
passes the instances in; so devices, recordings and ui never import each other."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from monitor.clock import Clock
from monitor.events import SessionEvent, TechnicalNotice
from monitor.readings import DeviceStatus, Reading, WaveformBlock
from monitor.report_data import SignatureLine
from monitor.session import DosingProtocol, SessionInfo


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


# ---- device discovery and setup (serial ports, BLE peripherals) -------------------------------


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    """A device found by a scan, as the setup dialog lists it."""

    transport: str  # "serial" | "ble"
    address: str  # port path or pyserial URL; BLE address
    name: str  # what the nurse recognises: "CP2102 USB to UART (10c4:ea60)", "Nonin3150_502617"
    detail: str = ""  # vendor/product/serial number; RSSI and advertised services
    protocols: tuple[str, ...] = ()  # protocol names that fit, best first (empty: any of the transport's)


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """A device the workstation remembers and reconnects to at start."""

    transport: str  # "serial" | "ble"
    protocol: str  # a decoder name, e.g. "cms50-v7", "nonin-2", "ble-plx-cont"
    address: str  # "/dev/ttyUSB0", "COM3", "socket://host:port", BLE address
    label: str  # shown in the status line: "Bedside oximeter"
    baud: int | None = None  # serial only; None = the protocol's default


class DeviceCatalog(Protocol):
    """One transport's discovery and driver factory; the UI lists every catalog the app passes in."""

    @property
    def transport(self) -> str: ...
    def protocols(self) -> list[str]: ...
    def discover(self, timeout_s: float) -> list[DiscoveredDevice]:
        """Raises ``monitor.errors.DeviceError`` with a message for the nurse when the transport is
        unavailable (e.g. "Bluetooth is not available on this computer: …")."""
        ...

    def make_driver(self, config: DeviceConfig, clock: Clock) -> Driver: ...


class DeviceConfigStore(Protocol):
    """Where the workstation's devices are remembered (implemented in ``app``)."""

    def load(self) -> list[DeviceConfig]: ...
    def save(self, configs: list[DeviceConfig]) -> None: ...


# ---- reading recordings back (prescriber review) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """What the session browser asks for; ``None`` / ``False`` = no restriction."""

    patient_id: str | None = None  # exact pseudonym, or a prefix ending in '*'
    started_from: float | None = None  # UTC epoch seconds, inclusive
    started_to: float | None = None  # UTC epoch seconds, exclusive
    protocol: DosingProtocol | None = None
    high_alarms_only: bool = False  # only sessions in which a high-priority alarm was raised
    not_reviewed: bool = False  # only sessions without a "reviewed" signature still matching them


@dataclass(frozen=True, slots=True)
class SessionListing:
    """One row of the session browser."""

    info: SessionInfo
    had_high_alarm: bool
    reviewed: bool = False  # a "reviewed" signature with nothing recorded after it


class SessionReader(Protocol):
    """The recordings as the review sees them (implemented by ``recordings.reader.RecordingReader``).

    Every method is one short read; errors are ``monitor.errors.StorageError`` with a message for the user.
    """

    def count_sessions(self, flt: SessionFilter) -> int: ...
    def find_sessions(self, flt: SessionFilter, offset: int, limit: int) -> list[SessionListing]:
        """One page of sessions, newest first."""
        ...

    def session_info(self, ref: int | str) -> SessionInfo:
        """A session by id or ``"latest"``."""
        ...

    def readings(
        self, session_id: int, channels: Iterable[str] | None = None, t_from: float | None = None, t_to: float | None = None
    ) -> list[Reading]: ...
    def series(
        self, session_id: int, channels: Iterable[str] | None = None, t_from: float | None = None, t_to: float | None = None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Numerics as ``{channel: (t, value)}`` float64 arrays in time order; NaN = no value."""
        ...

    def waveforms(
        self, session_id: int, channels: Iterable[str] | None = None, t_from: float | None = None, t_to: float | None = None
    ) -> list[WaveformBlock]: ...
    def waveform_series(
        self, session_id: int, channel: str, t_from: float | None = None, t_to: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One waveform channel as ``(t, value)`` float arrays in time order, every sample with its
        own time (``t0 + i / fs`` of its chunk), for plotting a stretch of a session."""
        ...

    def waveform_envelope(self, session_id: int, channel: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per stored chunk: start time, lowest and highest sample — a whole-session overview."""
        ...

    def events(self, session_id: int) -> list[SessionEvent]: ...


class SignOff(Protocol):
    """Signing a reviewed session (implemented by ``recordings.signoff.DatabaseSignOff``).

    Errors are ``monitor.errors.KnownError`` with a message for the signer (wrong password, no end...)."""

    meanings: tuple[str, ...]

    def signatures(self, session_id: int) -> list[SignatureLine]:
        """Every signature, oldest first, each checked against the record as it is now."""
        ...

    def sign(
        self, session_id: int, login: str, password: str, meaning: str, *, interrupted_ok: bool = False
    ) -> SignatureLine: ...


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One export format as the CLI and the review window show it (the writer is ``app.exports.EXPORTERS``)."""

    key: str  # --format value, e.g. "pdf"
    label: str  # button text, e.g. "PDF report"
    description: str  # e.g. "PDF session report"
    suffix: str  # file suffix with its dot, e.g. ".pdf"
    binary: bool  # a file only, never written to stdout


class SessionExports(Protocol):
    """Writing a recorded session to a file (implemented in ``app.exports``)."""

    def formats(self) -> dict[str, ExportFormat]:
        """Format key -> its descriptor, in the order to offer them."""
        ...

    def export(self, session_id: int, fmt: str, path: str, replace: bool = False) -> str:
        """Write the file completely or not at all; returns the path written. ``KnownError`` says why
        not — also for an existing file unless ``replace`` (the user confirmed)."""
        ...
