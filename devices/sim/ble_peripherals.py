"""Simulated Bluetooth LE vitals devices: real bumble GATT servers on an in-process ``LocalLink``.

A heart-rate strap (0x180D), a blood-pressure cuff (0x1810: live cuff pressure notified while it
inflates, the result indicated with the cuff's timestamp) and a pulse oximeter (0x1822: PLX
continuous + spot-check), each with Battery and Device Information services. Their values come
from the scenario engine (``devices.sim.physiology``) and follow the session's first dose through
``t0_provider``, like ``devices.sim.simulated``; scenario windows become what a real device would send
(artefact → status bits and implausible values, probe off → NaN SFLOATs and "sensor disconnected",
dropout → silence).

``VirtualBleRoom`` puts the link, the peripherals and ``BleDriver``s (through ``BumbleTransport``)
together for tests and ``--demo-ble``. Everything bumble runs on the ``ble-loop`` thread.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from devices.ble.catalog import BleCatalog
from devices.ble.driver import BleDriver, profile_info
from devices.ble.gatt import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    BLOOD_PRESSURE_MEASUREMENT,
    BLOOD_PRESSURE_SERVICE,
    DEVICE_INFORMATION_SERVICE,
    HEART_RATE_MEASUREMENT,
    HEART_RATE_SERVICE,
    INTERMEDIATE_CUFF_PRESSURE,
    PLX_CONTINUOUS,
    PLX_FEATURES,
    PLX_SPOT_CHECK,
    PULSE_OXIMETER_SERVICE,
    BpStatus,
    PlxMeasurementStatus,
    PlxSensorStatus,
)
from devices.ble.loop import LoopThread
from devices.ble.transport import BumbleScanner, BumbleTransport
from devices.sim import ble_encoders as encoders
from devices.sim.physiology import ARTEFACT, DROPOUT, PROBE_OFF, Physiology
from devices.sim.scenario import Scenario, load_scenario
from monitor.clock import Clock
from monitor.ports import DeviceInfo, Driver, DriverSink

if TYPE_CHECKING:
    from bumble.device import Device
    from bumble.gatt import Characteristic
    from bumble.link import LocalLink

log = logging.getLogger(__name__)

T0Provider = Callable[[], float | None]

#: Real seconds between looks at the session clock.
POLL_S: Final = 0.02
#: A live sensor does not replay history: after a clock jump only the last few due values are sent.
MAX_LIVE_BACKLOG: Final = 5
#: Cuff results kept while nobody is subscribed, sent on the next subscription (like real cuffs).
MAX_STORED_RESULTS: Final = 50
#: Live cuff-pressure notifications per second of session time while the cuff measures.
ICP_FS: Final = 2.0
#: Session seconds between PLX spot-checks.
SPOT_CHECK_INTERVAL_S: Final = 300.0
ARTEFACT_RANGES: Final = {"spo2": (60.0, 88.0), "pr": (30.0, 220.0), "nibp_sys": (50.0, 260.0), "nibp_dia": (15.0, 150.0)}


def _reported(value: float) -> float:
    """Devices report whole numbers, never 0 (0 would look like a real value)."""
    return float(max(1, round(float(value))))


def _as_scenario(scenario: Scenario | str) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _bumble_errors() -> tuple[type[BaseException], ...]:
    from bumble.core import BaseBumbleError

    return (BaseBumbleError, TimeoutError, OSError)


class VirtualPeripheral:
    """A bumble device on the link: its GATT services, advertising, and a feeding task."""

    kind: str = ""
    model: str = ""

    def __init__(
        self, clock: Clock, scenario: Scenario | str, t0_provider: T0Provider, seed: int, address: str, name: str
    ) -> None:
        self.scenario = _as_scenario(scenario)
        self.address = address
        self.name = name
        self._clock = clock
        self._t0_provider = t0_provider
        self._patient = Physiology(self.scenario, seed)
        self._origin = 0.0
        self._device: Device | None = None
        self._link: LocalLink | None = None
        self._task: asyncio.Task[None] | None = None
        self.battery_percent = 87
        self.sent = 0  # values notified or indicated (for tests)

    # ---- GATT ------------------------------------------------------------------------------
    @staticmethod
    def _char(uuid: int, properties: Any, value: bytes = b"") -> Characteristic:
        from bumble.core import UUID
        from bumble.gatt import Characteristic

        return Characteristic(UUID.from_16_bits(uuid), properties, Characteristic.READABLE, value)

    def _services(self) -> list[Any]:
        """The profile's services (subclasses) plus Battery and Device Information."""
        raise NotImplementedError

    def _common_services(self) -> list[Any]:
        from bumble.core import UUID
        from bumble.gatt import Characteristic, Service

        props = Characteristic.Properties
        self._battery = self._char(BATTERY_LEVEL, props.READ | props.NOTIFY, bytes((self.battery_percent,)))
        info = [
            self._char(0x2A29, props.READ, b"Session Monitor (simulated)"),
            self._char(0x2A24, props.READ, self.model.encode()),
            self._char(0x2A25, props.READ, self.address.replace(":", "").encode()),
        ]
        return [
            Service(UUID.from_16_bits(BATTERY_SERVICE), [self._battery]),
            Service(UUID.from_16_bits(DEVICE_INFORMATION_SERVICE), info),
        ]

    @property
    def service_uuid(self) -> int:
        raise NotImplementedError

    async def start(self, link: LocalLink) -> None:
        """Power on, advertise (20 ms, restarting after each disconnect) and start sending values."""
        from bumble.controller import Controller
        from bumble.core import UUID, AdvertisingData
        from bumble.device import Device
        from bumble.hci import Address
        from bumble.host import Host
        from bumble.transport.common import AsyncPipeSink

        self._link = link
        controller = Controller(self.name, link=link, public_address=self.address)
        device = Device(name=self.name, address=Address(self.address), host=Host(controller, AsyncPipeSink(controller)))
        device.add_services(self._services() + self._common_services())
        device.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                    (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, bytes(UUID.from_16_bits(self.service_uuid))),
                ]
            )
        )
        await device.power_on()
        await device.start_advertising(auto_restart=True, advertising_interval_min=20, advertising_interval_max=20)
        self._device = device
        self._origin = self._clock.now()
        self._task = asyncio.get_running_loop().create_task(self._feed(), name=f"ble-sim:{self.kind}")

    async def stop(self) -> None:
        """Stop sending, drop connections, power off and leave the link."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        device, self._device = self._device, None
        if device is None:
            return
        try:
            await device.stop_advertising()
            await self._disconnect_all(device)
            await device.power_off()
        except _bumble_errors() as exc:
            log.debug("stopping %s: %s", self.name, exc)
        if self._link is not None and device.host.controller in self._link.controllers:
            self._link.remove_controller(device.host.controller)

    async def drop_connections(self) -> None:
        """The peripheral ends every connection (as when a device walks out of range or resets);
        it keeps advertising, so a central can reconnect."""
        if self._device is not None:
            await self._disconnect_all(self._device)

    @staticmethod
    async def _disconnect_all(device: Device) -> None:
        for connection in list(device.connections.values()):
            try:
                await asyncio.wait_for(connection.disconnect(), 2.0)
            except _bumble_errors() as exc:
                log.debug("disconnecting: %s", exc)

    def has_subscriber(self, characteristic: Characteristic) -> bool:
        if self._device is None:
            return False
        return any(
            cccd.get(characteristic.handle) not in (None, b"\x00\x00") for cccd in self._device.gatt_server.subscribers.values()
        )

    async def _notify(self, characteristic: Characteristic, value: bytes, indicate: bool = False) -> None:
        assert self._device is not None
        if indicate:
            await self._device.indicate_subscribers(characteristic, value)
        else:
            await self._device.notify_subscribers(characteristic, value)
        self.sent += 1

    # ---- feeding -----------------------------------------------------------------------------
    async def _feed(self) -> None:
        errors = _bumble_errors()
        while True:
            try:
                await self._step(self._clock.now(), self._t0_provider())
            except errors as exc:  # a link dropping mid-notification: the central reconnects
                log.info("%s: %s", self.name, exc)
            await asyncio.sleep(POLL_S)

    async def _step(self, now: float, t0: float | None) -> None:
        raise NotImplementedError

    def _due(self, fs: float, now: float, next_k: int, offset_s: float = 0.0) -> range:
        """Grid indices ``next_k..`` due at ``now`` — only the last few after a jump of the clock."""
        x = (now - self._origin - offset_s) * fs
        n = 0 if x < -1e-9 else int(x + 1e-9) + 1
        return range(max(next_k, n - MAX_LIVE_BACKLOG), n)

    def _condition(self, device: str, t: float, t0: float | None) -> int:
        return int(self._patient.condition(device, np.array([t]), t0, self._origin)[0])

    def _sample(self, var: str, t: float, k: int, t0: float | None) -> float:
        return float(self._patient.sample(var, np.array([t]), np.array([k]), t0, self._origin)[0])

    def _artefact(self, device: str, channel: str, t: float, k: int, t0: float | None) -> float:
        return float(
            self._patient.artefact_values(
                device, channel, np.array([t]), np.array([k]), t0, self._origin, ARTEFACT_RANGES[channel]
            )[0]
        )


class HeartRateStrap(VirtualPeripheral):
    """A chest strap: HR once a second with the RR intervals of the beats in that second."""

    kind = "hrs"
    model = "SIM-HRS"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._k = 0
        self._beat_phase = 0.0
        self._energy_kj = 0.0

    @property
    def service_uuid(self) -> int:
        return HEART_RATE_SERVICE

    def _services(self) -> list[Any]:
        from bumble.core import UUID
        from bumble.gatt import Characteristic, Service

        props = Characteristic.Properties
        self._hrm = self._char(HEART_RATE_MEASUREMENT, props.NOTIFY)
        location = self._char(0x2A38, props.READ, bytes((1,)))  # chest
        return [Service(UUID.from_16_bits(HEART_RATE_SERVICE), [self._hrm, location])]

    async def _step(self, now: float, t0: float | None) -> None:
        for k in self._due(1.0, now, self._k):
            self._k = k + 1
            t = self._origin + k
            bpm = max(20.0, self._sample("hr", t, k, t0))
            beats_before = math.floor(self._beat_phase)
            self._beat_phase += bpm / 60.0
            rr = [60.0 / bpm] * (math.floor(self._beat_phase) - beats_before)
            self._energy_kj += bpm * 0.0015
            energy = round(self._energy_kj) if k % 10 == 0 else None
            await self._notify(self._hrm, encoders.heart_rate(round(bpm), contact=True, energy_kj=energy, rr_s=rr))


class BloodPressureCuff(VirtualPeripheral):
    """An automatic cuff on the scenario's NIBP schedule: live pressure while it measures, then the
    result (indicated, with its timestamp); results measured while no central listens are kept and
    sent on the next subscription, with their original timestamps."""

    kind = "bpm"
    model = "SIM-BPM"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._interval_s = self.scenario.nibp.interval_min * 60.0
        self._cycle_s = self.scenario.nibp.cycle_s
        self._cycle = 0  # next cycle whose result is due
        self._icp_k = 0
        self._stored: list[bytes] = []

    @property
    def service_uuid(self) -> int:
        return BLOOD_PRESSURE_SERVICE

    def _services(self) -> list[Any]:
        from bumble.core import UUID
        from bumble.gatt import Characteristic, Service

        props = Characteristic.Properties
        self._bpm = self._char(BLOOD_PRESSURE_MEASUREMENT, props.INDICATE)
        self._icp = self._char(INTERMEDIATE_CUFF_PRESSURE, props.NOTIFY)
        feature = self._char(0x2A49, props.READ, (0x0027).to_bytes(2, "little"))  # movement, cuff fit, irregular, position
        return [Service(UUID.from_16_bits(BLOOD_PRESSURE_SERVICE), [self._bpm, self._icp, feature])]

    def _cycle_values(self, cycle: int, t0: float | None) -> tuple[float, float, float, float, int, int]:
        """(sys, dia, map, pr, status, condition) of one cycle, stamped at its end."""
        begin = self._origin + cycle * self._interval_s
        t = begin + self._cycle_s
        cond = max(self._condition("nibp", x, t0) for x in (begin, begin + self._cycle_s / 2, t - 1e-6))
        if cond == ARTEFACT:
            s, d = self._artefact("nibp", "nibp_sys", t, cycle, t0), self._artefact("nibp", "nibp_dia", t, cycle, t0)
            status = int(BpStatus.BODY_MOVEMENT)
        else:
            s, d = self._sample("sbp", t, cycle, t0), self._sample("dbp", t, cycle, t0)
            status = 0
        s_r = _reported(s)
        d_r = min(_reported(d), s_r - 1.0)
        m_r = _reported(d_r + (s_r - d_r) / 3.0)
        pr = _reported(self._sample("hr", t, cycle, t0))
        if cond == PROBE_OFF:
            return math.nan, math.nan, math.nan, math.nan, int(BpStatus.CUFF_TOO_LOOSE), cond
        return s_r, d_r, m_r, pr, status, cond

    def _pressure(self, t_in_cycle: float, systolic: float, diastolic: float) -> float:
        """Inflate to systolic + 30 in the first 30 % of the cycle, then bleed down to diastolic - 15."""
        top, bottom, rise = systolic + 30.0, max(20.0, diastolic - 15.0), 0.3 * self._cycle_s
        if t_in_cycle < rise:
            return top * t_in_cycle / rise
        return top - (top - bottom) * (t_in_cycle - rise) / (self._cycle_s - rise)

    async def _step(self, now: float, t0: float | None) -> None:
        if self._stored and self.has_subscriber(self._bpm):
            while self._stored:
                await self._notify(self._bpm, self._stored.pop(0), indicate=True)
        # live pressure of the cycle running now
        cycle_now = int((now - self._origin) // self._interval_s)
        in_cycle = now - self._origin - cycle_now * self._interval_s
        if 0 <= in_cycle < self._cycle_s and self.has_subscriber(self._icp):
            s, d, _m, _pr, _status, cond = self._cycle_values(cycle_now, t0)
            k_first = int(cycle_now * self._interval_s * ICP_FS)
            for k in self._due(ICP_FS, now, max(self._icp_k, k_first)):
                self._icp_k = k + 1
                tk = k / ICP_FS - cycle_now * self._interval_s
                if 0 <= tk < self._cycle_s and cond != DROPOUT:
                    top_s = s if math.isfinite(s) else 120.0
                    top_d = d if math.isfinite(d) else 80.0
                    pressure = round(self._pressure(tk, top_s, top_d))
                    await self._notify(self._icp, encoders.intermediate_cuff_pressure(pressure))
        # results of finished cycles
        n_done = int((now - self._origin - self._cycle_s) // self._interval_s) + 1 if now - self._origin >= self._cycle_s else 0
        for cycle in range(self._cycle, n_done):
            self._cycle = cycle + 1
            s, d, m, pr, status, cond = self._cycle_values(cycle, t0)
            if cond == DROPOUT:
                continue
            end = self._origin + cycle * self._interval_s + self._cycle_s
            value = encoders.blood_pressure(s, d, m, timestamp=end, pulse_rate=pr, user_id=1, status=status)
            if self.has_subscriber(self._bpm):
                await self._notify(self._bpm, value, indicate=True)
            else:
                self._stored = ([*self._stored, value])[-MAX_STORED_RESULTS:]


class PulseOximeter(VirtualPeripheral):
    """PLX continuous once a second (SpO2, PR, status, PAI) and a spot-check every 5 minutes."""

    kind = "plx"
    model = "SIM-PLX"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._k = 0
        self._spot = 0

    @property
    def service_uuid(self) -> int:
        return PULSE_OXIMETER_SERVICE

    def _services(self) -> list[Any]:
        from bumble.core import UUID
        from bumble.gatt import Characteristic, Service

        props = Characteristic.Properties
        self._cont = self._char(PLX_CONTINUOUS, props.NOTIFY)
        self._spot_char = self._char(PLX_SPOT_CHECK, props.INDICATE)
        features = self._char(PLX_FEATURES, props.READ, encoders.plx_features(0x0003, 0xFFE0, 0xFFFF))
        return [Service(UUID.from_16_bits(PULSE_OXIMETER_SERVICE), [self._spot_char, self._cont, features])]

    def _values(self, t: float, k: int, t0: float | None) -> tuple[float, float, int, int] | None:
        """(SpO2, PR, measurement status, sensor status) at t, or None during a dropout."""
        cond = self._condition("oximeter", t, t0)
        if cond == DROPOUT:
            return None
        if cond == PROBE_OFF:
            return math.nan, math.nan, int(PlxMeasurementStatus.UNAVAILABLE), int(PlxSensorStatus.SENSOR_DISCONNECTED)
        if cond == ARTEFACT:
            spo2 = _reported(self._artefact("oximeter", "spo2", t, k, t0))
            pr = _reported(self._artefact("oximeter", "pr", t, k, t0))
            return spo2, pr, int(PlxMeasurementStatus.MEASUREMENT_ONGOING), int(PlxSensorStatus.ERRATIC_SIGNAL)
        spo2 = _reported(self._sample("spo2", t, k, t0))
        pr = _reported(self._sample("hr", t, k, t0))
        return spo2, pr, int(PlxMeasurementStatus.MEASUREMENT_ONGOING | PlxMeasurementStatus.VALIDATED), 0

    async def _step(self, now: float, t0: float | None) -> None:
        for k in self._due(1.0, now, self._k):
            self._k = k + 1
            values = self._values(self._origin + k, k, t0)
            if values is None:
                continue
            spo2, pr, mstatus, sstatus = values
            pai = round(2.0 + 3.0 * float(self._patient.uniform("pai", k)[0]), 1)
            value = encoders.plx_continuous(spo2, pr, measurement_status=mstatus, sensor_status=sstatus, pai=pai)
            await self._notify(self._cont, value)
        for j in self._due(1.0 / SPOT_CHECK_INTERVAL_S, now, self._spot, offset_s=SPOT_CHECK_INTERVAL_S / 2):
            self._spot = j + 1
            t = self._origin + SPOT_CHECK_INTERVAL_S / 2 + j * SPOT_CHECK_INTERVAL_S
            values = self._values(t, 1_000_000 + j, t0)
            if values is not None and self.has_subscriber(self._spot_char):
                spo2, pr, mstatus, sstatus = values
                value = encoders.plx_spot_check(spo2, pr, timestamp=t, measurement_status=mstatus, sensor_status=sstatus)
                await self._notify(self._spot_char, value, indicate=True)


@dataclass(frozen=True, slots=True)
class SimulatedBle:
    """One simulated Bluetooth device: its peripheral, where it sits on the virtual link, and the
    profile (``devices.ble.gatt.PROFILES``) its driver reads it with."""

    peripheral: type[VirtualPeripheral]
    address: str
    advertised_name: str
    protocol: str
    label: str


#: The simulated devices by short name, in the order a room starts them.
SIMULATED: Final[dict[str, SimulatedBle]] = {
    "hrs": SimulatedBle(HeartRateStrap, "F0:5E:00:00:0D:01", "SIM-HRS Strap", "ble-hrs", "Simulated BLE heart-rate strap"),
    "bpm": SimulatedBle(BloodPressureCuff, "F0:5E:00:00:10:01", "SIM-BPM Cuff", "ble-bpm", "Simulated BLE blood-pressure cuff"),
    "plx": SimulatedBle(PulseOximeter, "F0:5E:00:00:22:01", "SIM-PLX Oximeter", "ble-plx-cont", "Simulated BLE pulse oximeter"),
}


class VirtualBleRoom:
    """A virtual bedside: one ``LocalLink``, simulated peripherals, and drivers that reach them
    through ``BumbleTransport`` — real GATT end to end, no radio, no BlueZ, no D-Bus.

    Use as a context manager, or ``start()`` / ``stop()``. It owns its ``LoopThread`` unless one
    is passed in.
    """

    def __init__(
        self,
        clock: Clock,
        scenario: Scenario | str,
        t0_provider: T0Provider,
        seed: int = 1,
        kinds: Sequence[str] = tuple(SIMULATED),
        loop_thread: LoopThread | None = None,
    ) -> None:
        self.clock = clock
        self.scenario = _as_scenario(scenario)
        self._t0_provider = t0_provider
        self._seed = seed
        self._kinds = tuple(kinds)
        self._owns_loop = loop_thread is None
        self.loop_thread = loop_thread or LoopThread()
        self.link: LocalLink | None = None
        self.peripherals: dict[str, VirtualPeripheral] = {}

    def __enter__(self) -> VirtualBleRoom:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.loop_thread.start()
        try:
            self.loop_thread.run(self._start(), 10.0)
        except BaseException:
            self.stop()
            raise

    async def _start(self) -> None:
        from bumble.link import LocalLink

        self.link = LocalLink()
        for i, kind in enumerate(self._kinds):
            sim = SIMULATED[kind]
            peripheral = sim.peripheral(
                self.clock, self.scenario, self._t0_provider, self._seed + 101 * (i + 1), sim.address, sim.advertised_name
            )
            await peripheral.start(self.link)
            self.peripherals[kind] = peripheral

    def stop(self) -> None:
        """Stop the peripherals (and the loop thread if the room owns it). Stop drivers first."""
        if self.loop_thread.running and self.peripherals:
            try:
                self.loop_thread.run(self._stop(), 10.0)
            except TimeoutError:
                log.error("simulated BLE peripherals did not stop in time")
        if self._owns_loop:
            self.loop_thread.stop()

    async def _stop(self) -> None:
        while self.peripherals:
            _kind, peripheral = self.peripherals.popitem()
            await peripheral.stop()

    def transport_factory(self, address: str) -> BumbleTransport:
        if self.link is None:
            raise RuntimeError("start the virtual BLE room first")
        return BumbleTransport(self.link, address)

    def driver(self, kind: str, protocol: str | None = None, **kwargs: Any) -> BleDriver:
        """A ``BleDriver`` for one simulated device (a key of ``SIMULATED``)."""
        sim = SIMULATED[kind]
        kwargs.setdefault("label", sim.label)
        return BleDriver(sim.address, protocol or sim.protocol, self.clock, self.transport_factory, self.loop_thread, **kwargs)

    def drivers(self) -> list[BleDriver]:
        return [self.driver(kind) for kind in self._kinds]

    def catalog(self) -> BleCatalog:
        """A catalog scanning the virtual link (for the device dialog in the demo and tests)."""
        if self.link is None:
            raise RuntimeError("start the virtual BLE room first")
        return BleCatalog(self.loop_thread, scanner=BumbleScanner(self.link), transport_factory=self.transport_factory)

    def drop(self, kind: str) -> None:
        """The peripheral drops its link (out of range, reset); it keeps advertising."""
        self.loop_thread.run(self.peripherals[kind].drop_connections(), 5.0)


class _RoomMember:
    """A driver of a shared demo room: the first to start starts the room, the last to stop stops it."""

    def __init__(self, room: _SharedRoom, kind: str) -> None:
        self._room = room
        self._kind = kind
        self._driver: BleDriver | None = None
        sim = SIMULATED[kind]
        self._info = profile_info(sim.protocol, f"ble:{sim.address}", sim.label)

    @property
    def info(self) -> DeviceInfo:
        return self._driver.info if self._driver is not None else self._info

    def start(self, sink: DriverSink) -> None:
        self._driver = self._room.acquire().driver(self._kind)
        self._driver.start(sink)

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._driver is not None:
            self._driver.stop(timeout_s)
            self._driver = None
            self._room.release()


class _SharedRoom:
    def __init__(self, factory: Callable[[], VirtualBleRoom]) -> None:
        self._factory = factory
        self._room: VirtualBleRoom | None = None
        self._users = 0
        self._lock = threading.Lock()

    def acquire(self) -> VirtualBleRoom:
        with self._lock:
            if self._room is None:
                room = self._factory()
                room.start()
                self._room = room
            self._users += 1
            return self._room

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users <= 0 and self._room is not None:
                room, self._room = self._room, None
                room.stop()


def simulated_ble_devices(scenario: Scenario | str, clock: Clock, t0_provider: T0Provider, seed: int = 1) -> list[Driver]:
    """The three simulated BLE devices as drivers for the pipeline (``--demo-ble``): they bring up
    their virtual room and ``ble-loop`` thread when the first starts and take it down after the last stops."""
    sc = _as_scenario(scenario)
    shared = _SharedRoom(lambda: VirtualBleRoom(clock, sc, t0_provider, seed))
    return [_RoomMember(shared, kind) for kind in SIMULATED]
