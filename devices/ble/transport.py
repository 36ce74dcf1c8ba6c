"""A small BLE client interface with two implementations: bleak (real adapters) and bumble (an
in-process virtual link, for tests and the demo).

bumble is not a bleak backend (``protocols.md`` §5.2), so the driver talks to this interface and
never to either library. Both implementations turn their library's exceptions into two
``DeviceError``s the driver understands: ``BluetoothUnavailable`` (no adapter / BlueZ / D-Bus: the
computer cannot do Bluetooth at all) and ``BleLinkError`` (this device did not answer or dropped).
Every coroutine here runs on the ``ble-loop`` thread.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from devices.ble.gatt import uuid16
from monitor.errors import DeviceError

if TYPE_CHECKING:
    from bumble.link import LocalLink

log = logging.getLogger(__name__)

UNAVAILABLE_PREFIX = "Bluetooth is not available on this computer: "


class BluetoothUnavailable(DeviceError):
    """No Bluetooth at all on this computer; the message starts with ``UNAVAILABLE_PREFIX``."""

    def __init__(self, reason: str) -> None:
        super().__init__(UNAVAILABLE_PREFIX + reason)


class BleLinkError(DeviceError):
    """One device could not be reached or its link failed (Bluetooth itself works)."""


@dataclass(frozen=True, slots=True)
class Advert:
    """One device seen by a scan."""

    address: str
    name: str
    rssi: int | None
    services: tuple[int, ...]  # 16-bit service UUIDs it advertises


DisconnectCallback = Callable[[str], None]
NotifyCallback = Callable[[bytes], None]


class BleTransport(Protocol):
    """A GATT client for one peripheral; reusable across reconnects."""

    async def connect(self, timeout_s: float, on_disconnect: DisconnectCallback) -> None:
        """Connect and discover services; ``on_disconnect(reason)`` fires once if the link drops."""
        ...

    def has_characteristic(self, uuid: int) -> bool: ...
    async def start_notify(self, uuid: int, callback: NotifyCallback) -> None:
        """Subscribe to notifications or indications (whichever the characteristic offers)."""
        ...

    async def read(self, uuid: int) -> bytes | None:
        """The characteristic's value, or None if the device does not have it."""
        ...

    async def disconnect(self) -> None: ...


class BleScanner(Protocol):
    async def scan(self, timeout_s: float, services: Sequence[int]) -> list[Advert]: ...


TransportFactory = Callable[[str], BleTransport]


# ---- bleak --------------------------------------------------------------------------------------
def _short_uuid(text: str) -> int | None:
    """0x180D for "0000180d-0000-1000-8000-00805f9b34fb"; None for vendor UUIDs."""
    text = text.lower()
    if len(text) == 36 and text.startswith("0000") and text.endswith("-0000-1000-8000-00805f9b34fb"):
        return int(text[4:8], 16)
    return None


def bleak_error(exc: BaseException, what: str) -> DeviceError:
    """Map bleak's (and dbus-fast's) exceptions to ours. See house-style §9.4 for what each
    machine state raises: no D-Bus → FileNotFoundError, no BlueZ or no adapter → BleakDBusError."""
    from bleak.exc import BleakDBusError, BleakDeviceNotFoundError, BleakError

    if isinstance(exc, TimeoutError):
        return BleLinkError(f"{what}: no answer in time — is the device switched on and in range?")
    if isinstance(exc, FileNotFoundError):
        return BluetoothUnavailable(f"the system D-Bus / BlueZ Bluetooth service is not running ({exc})")
    if isinstance(exc, BleakDBusError):
        return BluetoothUnavailable(f"no Bluetooth adapter or BlueZ service ({exc.dbus_error})")
    if isinstance(exc, BleakDeviceNotFoundError):
        return BleLinkError(f"{what}: device not found — is it switched on and in range?")
    if isinstance(exc, OSError):
        return BluetoothUnavailable(str(exc) or type(exc).__name__)
    if isinstance(exc, BleakError):
        return BleLinkError(f"{what}: {exc}")
    raise TypeError(f"not a Bluetooth error: {exc!r}")


class BleakTransport:
    """A real peripheral through bleak 3.1 (BlueZ on Linux, WinRT on Windows, CoreBluetooth on macOS)."""

    def __init__(self, address: str) -> None:
        self._address = address
        self._client: Any = None

    async def connect(self, timeout_s: float, on_disconnect: DisconnectCallback) -> None:
        from bleak import BleakClient
        from bleak.exc import BleakError

        def disconnected(_client: Any) -> None:
            on_disconnect("the device closed the connection or went out of range")

        try:
            self._client = BleakClient(self._address, disconnected_callback=disconnected, timeout=timeout_s)
            await self._client.connect()
        except (BleakError, OSError) as exc:
            self._client = None
            raise bleak_error(exc, f"cannot connect to {self._address}") from exc

    def has_characteristic(self, uuid: int) -> bool:
        return self._client is not None and self._client.services.get_characteristic(uuid16(uuid)) is not None

    async def start_notify(self, uuid: int, callback: NotifyCallback) -> None:
        from bleak.exc import BleakError

        try:
            await self._client.start_notify(uuid16(uuid), lambda _char, data: callback(bytes(data)))
        except (BleakError, OSError) as exc:
            raise bleak_error(exc, f"cannot subscribe to 0x{uuid:04X}") from exc

    async def read(self, uuid: int) -> bytes | None:
        from bleak.exc import BleakError

        if not self.has_characteristic(uuid):
            return None
        try:
            return bytes(await self._client.read_gatt_char(uuid16(uuid)))
        except (BleakError, OSError) as exc:
            raise bleak_error(exc, f"cannot read 0x{uuid:04X}") from exc

    async def disconnect(self) -> None:
        from bleak.exc import BleakError

        client, self._client = self._client, None
        if client is not None:
            try:
                await client.disconnect()
            except (BleakError, OSError) as exc:
                log.info("disconnecting %s: %s", self._address, exc)


class BleakDeviceScanner:
    """Scans with bleak; raises ``BluetoothUnavailable`` quickly when the computer has no Bluetooth."""

    async def scan(self, timeout_s: float, services: Sequence[int]) -> list[Advert]:
        from bleak import BleakScanner
        from bleak.exc import BleakError

        try:
            found = await BleakScanner.discover(timeout=timeout_s, service_uuids=[uuid16(s) for s in services], return_adv=True)
        except (BleakError, OSError) as exc:
            raise bleak_error(exc, "Bluetooth scan failed") from exc
        out = []
        for device, adv in found.values():
            uuids = tuple(u for u in (_short_uuid(s) for s in adv.service_uuids) if u is not None)
            out.append(Advert(device.address, adv.local_name or device.name or "", adv.rssi, uuids))
        return out


# ---- bumble -------------------------------------------------------------------------------------
_central_numbers = itertools.count(1)


async def _virtual_central(link: LocalLink, name: str) -> Any:
    """A bumble central (controller + host) attached to the virtual link, powered on."""
    from bumble.controller import Controller
    from bumble.device import Device
    from bumble.hci import Address
    from bumble.host import Host
    from bumble.transport.common import AsyncPipeSink

    n = next(_central_numbers)
    address = f"C0:00:00:00:{(n >> 8) & 0xFF:02X}:{n & 0xFF:02X}"
    controller = Controller(f"{name}-{n}", link=link, public_address=address)
    device = Device(name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller)))
    await device.power_on()
    return device


async def _release_central(link: LocalLink, device: Any) -> None:
    from bumble.core import BaseBumbleError

    try:
        await device.power_off()
    except (BaseBumbleError, OSError) as exc:
        log.debug("powering off virtual central: %s", exc)
    controller = device.host.controller
    if controller in link.controllers:
        link.remove_controller(controller)


class BumbleTransport:
    """A simulated peripheral on a bumble ``LocalLink``: real GATT, no radio, no BlueZ."""

    def __init__(self, link: LocalLink, address: str) -> None:
        self._link = link
        self._address = address
        self._central: Any = None
        self._connection: Any = None
        self._peer: Any = None

    async def connect(self, timeout_s: float, on_disconnect: DisconnectCallback) -> None:
        from bumble.core import BaseBumbleError
        from bumble.device import Peer
        from bumble.hci import HCI_ErrorCode

        try:
            if self._central is None:
                self._central = await _virtual_central(self._link, "session-monitor")
            connection = await asyncio.wait_for(self._central.connect(self._address, timeout=timeout_s), timeout_s + 1.0)

            def disconnected(reason: int) -> None:
                try:
                    name = HCI_ErrorCode(reason).name.removesuffix("_ERROR").replace("_", " ").lower()
                except ValueError:
                    name = "unknown reason"
                on_disconnect(f"the device closed the connection (0x{reason:02X}: {name})")

            connection.on("disconnection", disconnected)
            self._connection = connection
            peer = Peer(connection)
            await asyncio.wait_for(peer.discover_services(), timeout_s)
            for service in peer.services:
                await asyncio.wait_for(service.discover_characteristics(), timeout_s)
            self._peer = peer
        except (BaseBumbleError, TimeoutError, OSError) as exc:
            await self.disconnect()
            raise BleLinkError(f"cannot connect to {self._address}: {exc or type(exc).__name__}") from exc

    def _characteristic(self, uuid: int) -> Any:
        from bumble.core import UUID

        if self._peer is None:
            return None
        found = self._peer.get_characteristics_by_uuid(UUID.from_16_bits(uuid))
        return found[0] if found else None

    def has_characteristic(self, uuid: int) -> bool:
        return self._characteristic(uuid) is not None

    async def start_notify(self, uuid: int, callback: NotifyCallback) -> None:
        from bumble.core import BaseBumbleError

        char = self._characteristic(uuid)
        if char is None:
            raise BleLinkError(f"{self._address} has no characteristic 0x{uuid:04X}")
        try:
            await self._peer.subscribe(char, lambda value: callback(bytes(value)), prefer_notify=True)
        except (BaseBumbleError, TimeoutError, OSError) as exc:
            raise BleLinkError(f"cannot subscribe to 0x{uuid:04X} of {self._address}: {exc}") from exc

    async def read(self, uuid: int) -> bytes | None:
        from bumble.core import BaseBumbleError

        char = self._characteristic(uuid)
        if char is None:
            return None
        try:
            return bytes(await self._peer.read_value(char))
        except (BaseBumbleError, TimeoutError, OSError) as exc:
            raise BleLinkError(f"cannot read 0x{uuid:04X} of {self._address}: {exc}") from exc

    async def disconnect(self) -> None:
        from bumble.core import BaseBumbleError

        connection, self._connection, self._peer = self._connection, None, None
        if connection is not None and connection.device.connections.get(connection.handle) is connection:
            try:
                connection.remove_all_listeners("disconnection")
                await asyncio.wait_for(connection.disconnect(), 2.0)
            except (BaseBumbleError, TimeoutError, OSError) as exc:
                log.debug("disconnecting %s: %s", self._address, exc)

    async def close(self) -> None:
        """Disconnect and take the virtual central off the link."""
        await self.disconnect()
        central, self._central = self._central, None
        if central is not None:
            await _release_central(self._link, central)


class BumbleScanner:
    """Scans the virtual link with a temporary central."""

    def __init__(self, link: LocalLink) -> None:
        self._link = link

    async def scan(self, timeout_s: float, services: Sequence[int]) -> list[Advert]:
        from bumble.core import AdvertisingData

        central = await _virtual_central(self._link, "session-monitor-scan")
        seen: dict[str, Advert] = {}

        def on_advertisement(adv: Any) -> None:
            uuids: list[int] = []
            for kind in (
                AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            ):
                for u in adv.data.get(kind) or ():
                    uuids.append(int.from_bytes(bytes(u)[:2], "little"))
            if services and not set(uuids) & set(services):
                return
            name = adv.data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or adv.data.get(AdvertisingData.SHORTENED_LOCAL_NAME) or ""
            name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
            address = str(adv.address).split("/")[0]
            seen[address] = Advert(address, name, adv.rssi, tuple(uuids))

        central.on("advertisement", on_advertisement)
        try:
            await central.start_scanning()
            await asyncio.sleep(timeout_s)
            await central.stop_scanning()
        finally:
            await _release_central(self._link, central)
        return list(seen.values())
