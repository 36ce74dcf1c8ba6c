"""``BleDriver``: one Bluetooth LE vitals device, as a coroutine on the shared ``ble-loop`` thread.

Connects through a ``BleTransport`` (bleak for real adapters, bumble for the virtual link),
subscribes to the profile's characteristics, decodes each value with the pure GATT decoders and
hands the readings to the sink stamped with the host receive time (a cuff's own timestamp stays as
``device_t``). A dropped link is reported LOST at once and retried with back-off; no environmental
fault (no Bluetooth, device away, GATT error) escapes — it becomes a LOST status with the reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Final

from devices.ble.gatt import (
    BATTERY_LEVEL,
    CHARACTERISTICS,
    DEVICE_INFORMATION_STRINGS,
    PLX_FEATURES,
    PROFILES,
    GattFormatError,
    parse_battery_level,
    parse_device_information_string,
    parse_plx_features,
)
from devices.ble.loop import LoopThread
from devices.ble.transport import BleTransport, BluetoothUnavailable, TransportFactory
from devices.decoding import REGISTRY, Decoder, DecoderSpec, to_readings
from monitor.clock import Clock
from monitor.errors import DeviceError
from monitor.ports import DeviceInfo, DriverSink
from monitor.readings import DeviceStatus, LinkState

log = logging.getLogger(__name__)

#: Real seconds between reconnect attempts: quick at first (a strap re-seated), then every 10 s.
DEFAULT_BACKOFF_S: Final = (0.5, 1.0, 2.0, 5.0, 10.0)


def resolve_decoders(protocol: str | DecoderSpec | Sequence[DecoderSpec]) -> tuple[list[DecoderSpec], list[DecoderSpec], str]:
    """(required, optional, main protocol name) for a protocol name, a spec or a list of specs."""
    if isinstance(protocol, str):
        if protocol in PROFILES:
            profile = PROFILES[protocol]
            return [REGISTRY[n] for n in profile.required], [REGISTRY[n] for n in profile.optional], protocol
        if protocol in CHARACTERISTICS:
            return [REGISTRY[protocol]], [], protocol
        raise DeviceError(f"unknown Bluetooth protocol {protocol!r}; known: {', '.join(sorted(PROFILES))}")
    specs = [protocol] if isinstance(protocol, DecoderSpec) else list(protocol)
    unknown = [s.name for s in specs if s.name not in CHARACTERISTICS]
    if unknown or not specs:
        raise DeviceError(f"not Bluetooth GATT decoders: {', '.join(unknown) or 'none given'}")
    return specs, [], specs[0].name


#: For explicit decoders that are no profile (a test's single characteristic): seconds of silence before "no data".
UNPROFILED_STALE_AFTER_S: Final = 30.0


def profile_info(protocol: str, source: str, label: str | None = None) -> DeviceInfo:
    """How a device of this protocol is shown and watched, from its profile."""
    profile = PROFILES.get(protocol)
    if profile is None:
        return DeviceInfo(source, label or "Bluetooth device", "ble", UNPROFILED_STALE_AFTER_S)
    return DeviceInfo(source, label or profile.label, profile.device_kind, profile.stale_after_s)


class BleDriver:
    """A ``monitor.ports.Driver`` for one BLE peripheral; many share one ``LoopThread``.

    ``protocol`` is a profile name ("ble-bpm" subscribes to the measurement and, if present, the
    live cuff pressure) or explicit decoder specs (all required).
    """

    def __init__(
        self,
        address: str,
        protocol: str | DecoderSpec | Sequence[DecoderSpec],
        clock: Clock,
        transport_factory: TransportFactory,
        loop_thread: LoopThread,
        source: str | None = None,
        label: str | None = None,
        *,
        stale_after_s: float | None = None,
        connect_timeout_s: float = 10.0,
        backoff_s: Sequence[float] = DEFAULT_BACKOFF_S,
    ) -> None:
        self._required, self._optional, main = resolve_decoders(protocol)
        self._address = address
        self._clock = clock
        self._factory = transport_factory
        self._loop_thread = loop_thread
        self._connect_timeout_s = connect_timeout_s
        self._backoff_s = tuple(backoff_s) or DEFAULT_BACKOFF_S
        self._info = profile_info(main, source or f"ble:{address}", label)
        if stale_after_s is not None:
            self._info = dataclasses.replace(self._info, stale_after_s=stale_after_s)
        self._future: concurrent.futures.Future[None] | None = None
        self._done = threading.Event()
        self._decoders: dict[str, Decoder] = {}
        self.battery_percent: int | None = None
        self.device_information: dict[str, str] = {}

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def decoders(self) -> dict[str, Decoder]:
        """The decoders of the current connection, by protocol name (their stats, last record)."""
        return dict(self._decoders)

    def start(self, sink: DriverSink) -> None:
        if self._future is not None:
            raise RuntimeError(f"driver {self._info.source} was already started; create a new one")
        sink.register_device(self._info)
        sink.put_status(DeviceStatus(self._info.source, LinkState.CONNECTING, self._clock.now()))
        self._loop_thread.start()
        self._future = self._loop_thread.submit(self._run(sink))
        self._future.add_done_callback(self._report_bug)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel the coroutine (it disconnects and reports STOPPED) and wait for it."""
        if self._future is None:
            return
        self._future.cancel()
        if not self._done.wait(timeout_s):
            log.error("BLE driver %s did not stop within %.1f s", self._info.source, timeout_s)

    def _report_bug(self, future: concurrent.futures.Future[None]) -> None:
        """A bug inside the coroutine goes to the crash handler, like an exception in a driver thread."""
        if future.cancelled() or future.exception() is None:
            return
        exc = future.exception()
        assert exc is not None
        threading.excepthook(threading.ExceptHookArgs((type(exc), exc, exc.__traceback__, threading.current_thread())))  # type: ignore[attr-defined, call-arg]

    # ---- on the ble-loop thread -------------------------------------------------------------
    async def _run(self, sink: DriverSink) -> None:
        source = self._info.source
        transport = self._factory(self._address)
        attempt = 0
        last_lost: str | None = None
        try:
            while True:
                try:
                    lost_reason = await self._session(transport, sink)
                    attempt, last_lost = 0, None
                    detail = f"Bluetooth link lost: {lost_reason}; reconnecting"
                except (DeviceError, OSError) as exc:
                    detail = str(exc) if isinstance(exc, DeviceError) else f"Bluetooth error: {exc}"
                    if isinstance(exc, BluetoothUnavailable):
                        detail += "; retrying"
                await transport.disconnect()
                if detail != last_lost:  # while retrying, the same reason is reported once
                    log.warning("BLE device %s: %s", source, detail)
                    sink.put_status(DeviceStatus(source, LinkState.LOST, self._clock.now(), detail))
                    last_lost = detail
                await asyncio.sleep(self._backoff_s[min(attempt, len(self._backoff_s) - 1)])
                attempt += 1
        finally:
            try:
                await self._close(transport)
            except asyncio.CancelledError:  # cancelled again while closing (the loop is stopping)
                log.info("BLE device %s closed while the loop stopped", source)
            sink.put_status(DeviceStatus(source, LinkState.STOPPED, self._clock.now(), "stopped"))
            self._done.set()

    async def _close(self, transport: BleTransport) -> None:
        close = getattr(transport, "close", None)
        try:
            if close is not None:
                await asyncio.wait_for(close(), 3.0)
            else:
                await asyncio.wait_for(transport.disconnect(), 3.0)
        except (DeviceError, OSError) as exc:  # TimeoutError is an OSError
            log.info("closing BLE device %s: %s", self._info.source, exc)

    async def _session(self, transport: BleTransport, sink: DriverSink) -> str:
        """One connection: connect, subscribe, stream until the link drops; returns why it dropped."""
        lost = asyncio.Event()
        reason = ["unknown reason"]
        loop = asyncio.get_running_loop()

        def on_disconnect(why: str) -> None:
            reason[0] = why
            loop.call_soon_threadsafe(lost.set)

        await transport.connect(self._connect_timeout_s, on_disconnect)
        missing = [s.name for s in self._required if not transport.has_characteristic(CHARACTERISTICS[s.name].characteristic)]
        if missing:
            names = ", ".join(f"{n} (0x{CHARACTERISTICS[n].characteristic:04X})" for n in missing)
            raise DeviceError(f"{self._address} does not offer {names}; is it the right kind of device?")
        await self._read_information(transport)
        self._decoders = {}
        for spec in self._required + self._optional:
            uuid = CHARACTERISTICS[spec.name].characteristic
            if not transport.has_characteristic(uuid):
                continue
            decoder = spec.factory()
            self._decoders[spec.name] = decoder
            await transport.start_notify(uuid, self._on_value(spec.name, decoder, sink))
        detail = "connected" + (f", battery {self.battery_percent} %" if self.battery_percent is not None else "")
        sink.put_status(DeviceStatus(self._info.source, LinkState.STREAMING, self._clock.now(), detail))
        await lost.wait()
        return reason[0]

    def _on_value(self, name: str, decoder: Decoder, sink: DriverSink) -> Callable[[bytes], None]:
        """The notification callback: decode with the pure parser, stamp with the receive time."""
        source = self._info.source

        def on_value(data: bytes) -> None:
            t = self._clock.now()
            rejected = decoder.stats.rejected
            measurements = decoder.feed(data)
            if decoder.stats.rejected != rejected and (decoder.stats.rejected < 10 or decoder.stats.rejected % 100 == 0):
                log.warning(
                    "%s: %s value rejected (%d so far): %s", source, name, decoder.stats.rejected, decoder.stats.notes[-1:]
                )
            if measurements:
                sink.put_readings(to_readings(source, measurements, t))

        return on_value

    async def _read_information(self, transport: BleTransport) -> None:
        """Battery level and the Device Information strings, for the status line and the log."""
        try:
            raw = await transport.read(BATTERY_LEVEL)
            if raw is not None:
                self.battery_percent = parse_battery_level(raw)
            for uuid, label in DEVICE_INFORMATION_STRINGS.items():
                raw = await transport.read(uuid)
                if raw is not None:
                    self.device_information[label] = parse_device_information_string(raw)
            raw = await transport.read(PLX_FEATURES)
            if raw is not None:
                features = parse_plx_features(raw)
                log.info("%s PLX features 0x%04X", self._info.source, features.features)
        except GattFormatError as exc:
            log.warning("%s: %s", self._info.source, exc)
        if self.device_information:
            log.info("%s: %s", self._info.source, self.device_information)
