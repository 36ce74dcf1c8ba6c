"""Serial discovery and driver factory for the device setup dialog (``monitor.ports.DeviceCatalog``).

Ports come from ``serial.tools.list_ports`` with their USB vendor:product, maker, product name and
serial number, so the nurse can tell the oximeter's USB-serial cable from the label printer's.
"""

from __future__ import annotations

import logging

from serial.tools import list_ports

from devices.decoding import DecoderSpec, load_all
from devices.serial_driver import SerialDriver
from monitor.clock import Clock
from monitor.errors import ConfigError, DeviceError
from monitor.ports import DeviceConfig, DiscoveredDevice, Driver

log = logging.getLogger(__name__)


class SerialCatalog:
    def __init__(self) -> None:
        self._specs: dict[str, DecoderSpec] = {n: s for n, s in load_all().items() if s.transport == "serial"}
        #: USB VID:PID of cables that ship with particular devices → protocols to offer first (each
        #: decoder's spec names its cables).
        ranked = sorted(self._specs.values(), key=lambda s: s.usb_rank)
        self._known_usb: dict[tuple[int, int], tuple[str, ...]] = {}
        for spec in ranked:
            for usb in spec.usb_ids:
                self._known_usb[usb] = (*self._known_usb.get(usb, ()), spec.name)

    @property
    def transport(self) -> str:
        return "serial"

    def protocols(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, protocol: str) -> DecoderSpec:
        try:
            return self._specs[protocol]
        except KeyError:
            raise ConfigError(f"unknown serial protocol {protocol!r}; choose one of: {', '.join(self.protocols())}") from None

    def discover(self, timeout_s: float = 1.0) -> list[DiscoveredDevice]:
        try:
            ports = list_ports.comports()
        except OSError as exc:
            raise DeviceError(f"cannot list the serial ports on this computer: {exc}; type the port name instead") from None
        found = []
        for p in sorted(ports, key=lambda p: p.device):
            usb = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None and p.pid is not None else ""
            name = next((x for x in (p.product, p.description) if x and x != "n/a"), p.device)
            if usb:
                name = f"{name} ({usb})"
            detail = ", ".join(
                x
                for x in (
                    p.manufacturer,
                    f"serial number {p.serial_number}" if p.serial_number else "",
                    p.location and f"USB port {p.location}",
                )
                if x
            )
            protocols = self._known_usb.get((p.vid, p.pid), ()) if p.vid is not None else ()
            found.append(DiscoveredDevice("serial", p.device, name, detail, tuple(protocols)))
        return found

    def make_driver(self, config: DeviceConfig, clock: Clock) -> Driver:
        if config.transport != "serial":
            raise ConfigError(f"{config.label}: transport {config.transport!r} is not serial")
        if not config.address.strip():
            raise ConfigError(f"{config.label}: no port given; pick a port or type one (e.g. /dev/ttyUSB0, COM3)")
        return SerialDriver(config.address, self.spec(config.protocol), clock, label=config.label, baud=config.baud)
