"""``BleCatalog``: Bluetooth LE devices for the device-setup dialog (``monitor.ports.DeviceCatalog``).

Scans for the three vitals services on the shared ``ble-loop`` thread and makes ``BleDriver``s.
Without Bluetooth (no adapter, no BlueZ, no D-Bus) a scan fails at once with
"Bluetooth is not available on this computer: …", and a scan that does not come back in time is
abandoned — the dialog never hangs.
"""

from __future__ import annotations

import concurrent.futures
import logging
from typing import Final

from devices.ble.driver import BleDriver
from devices.ble.gatt import PROFILES, SERVICE_NAMES, SERVICE_PROTOCOLS, VITALS_SERVICES
from devices.ble.loop import LoopThread
from devices.ble.transport import BleakDeviceScanner, BleakTransport, BleScanner, TransportFactory
from monitor.clock import Clock
from monitor.errors import DeviceError
from monitor.ports import DeviceConfig, DiscoveredDevice, Driver

log = logging.getLogger(__name__)

#: Extra real seconds a scan may take beyond its own timeout before it is abandoned.
SCAN_GRACE_S: Final = 5.0


class BleCatalog:
    def __init__(
        self,
        loop_thread: LoopThread | None = None,
        scanner: BleScanner | None = None,
        transport_factory: TransportFactory | None = None,
    ) -> None:
        self._owns_loop = loop_thread is None
        self._loop_thread = loop_thread or LoopThread()
        self._scanner = scanner or BleakDeviceScanner()
        self._factory: TransportFactory = transport_factory or BleakTransport

    @property
    def transport(self) -> str:
        return "ble"

    def protocols(self) -> list[str]:
        return sorted(PROFILES)

    def discover(self, timeout_s: float) -> list[DiscoveredDevice]:
        """Devices advertising Heart Rate, Blood Pressure or Pulse Oximeter, strongest signal first."""
        self._loop_thread.start()
        try:
            adverts = self._loop_thread.run(self._scanner.scan(timeout_s, VITALS_SERVICES), timeout_s + SCAN_GRACE_S)
        except concurrent.futures.TimeoutError:
            raise DeviceError(f"the Bluetooth scan did not finish within {timeout_s + SCAN_GRACE_S:.0f} s; try again") from None
        found = []
        for adv in sorted(adverts, key=lambda a: -(a.rssi if a.rssi is not None else -999)):
            services = [s for s in adv.services if s in SERVICE_NAMES]
            protocols = tuple(p for s in services for p in SERVICE_PROTOCOLS[s])
            parts = []
            if adv.rssi is not None:
                parts.append(f"RSSI {adv.rssi} dBm")
            if services:
                parts.append("services: " + ", ".join(f"{SERVICE_NAMES[s]} (0x{s:04X})" for s in services))
            found.append(DiscoveredDevice("ble", adv.address, adv.name or adv.address, "; ".join(parts), protocols))
        return found

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the ``ble-loop`` thread if this catalog created it; call after its drivers stopped."""
        if self._owns_loop:
            self._loop_thread.stop(timeout_s)

    def make_driver(self, config: DeviceConfig, clock: Clock) -> Driver:
        if config.transport != "ble":
            raise DeviceError(f"{config.label}: not a Bluetooth device (transport {config.transport!r})")
        return BleDriver(config.address, config.protocol, clock, self._factory, self._loop_thread, label=config.label)
