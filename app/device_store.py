"""The workstation's remembered devices (``monitor.ports.DeviceConfigStore``), as JSON in the user's
config folder. Written atomically (temp file + rename), so a crash mid-save keeps the old list."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from app.config_files import config_path, write_json_atomically
from monitor.clock import Clock
from monitor.errors import ConfigError, KnownError
from monitor.ports import DeviceCatalog, DeviceConfig, DeviceConfigStore, Driver

log = logging.getLogger(__name__)

VERSION = 1


def default_path() -> Path:
    return config_path("SESSION_MONITOR_DEVICES", "devices.json")


class JsonDeviceStore:
    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    def load(self) -> list[DeviceConfig]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(f"cannot read the device list {self.path}: {exc.strerror or exc}; check its permissions") from None
        try:
            doc = json.loads(raw.decode("utf-8"))
            items = doc["devices"]
            out = []
            for item in items:
                baud = item.get("baud")
                out.append(
                    DeviceConfig(
                        str(item["transport"]),
                        str(item["protocol"]),
                        str(item["address"]),
                        str(item["label"]),
                        None if baud is None else int(baud),
                    )
                )
            return out
        except (ValueError, KeyError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
            raise ConfigError(self._move_aside(f"{type(exc).__name__}: {exc}")) from None

    def _move_aside(self, problem: str) -> str:
        """A damaged list must never stop the monitor from starting (issue 13, finding 8): it is
        moved aside (kept for whoever wants to look at it) and the monitor starts without it."""
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            return (
                f"the device list {self.path} is damaged ({problem}) and could not be moved aside ({exc.strerror or exc}): "
                "rename or delete it and add the devices again in Devices…"
            )
        log.warning("device list %s is damaged (%s); moved to %s", self.path, problem, aside)
        return f"the device list {self.path} was damaged ({problem}); it was moved to {aside}: add the devices again in Devices…"

    def save(self, configs: list[DeviceConfig]) -> None:
        write_json_atomically(self.path, {"version": VERSION, "devices": [asdict(c) for c in configs]}, "the device list")


def device_catalogs() -> list[DeviceCatalog]:
    """Serial ports and Bluetooth LE: what the device dialog lists and start-up reconnects.
    The BLE catalog owns the one ``ble-loop`` thread; close it (``close_catalogs``) after the
    drivers have stopped."""
    from devices.ble.catalog import BleCatalog
    from devices.serial_catalog import SerialCatalog

    return [SerialCatalog(), BleCatalog()]


def close_catalogs(catalogs: list[DeviceCatalog]) -> None:
    for catalog in catalogs:
        close = getattr(catalog, "close", None)
        if close is not None:
            close()


def remembered_drivers(store: DeviceConfigStore, catalogs: list[DeviceCatalog], clock: Clock) -> tuple[list[Driver], list[str]]:
    """Drivers for the workstation's remembered devices, and a message per device that cannot be
    built (unknown protocol, damaged list) — those must not stop the monitor from starting."""
    by_transport = {c.transport: c for c in catalogs}
    try:
        configs = store.load()
    except ConfigError as exc:
        return [], [str(exc)]
    drivers: list[Driver] = []
    problems: list[str] = []
    for config in configs:
        catalog = by_transport.get(config.transport)
        if catalog is None:
            problems.append(f"{config.label}: no {config.transport} support on this computer; remove it in Devices…")
            continue
        try:
            drivers.append(catalog.make_driver(config, clock))
        except KnownError as exc:
            problems.append(f"{config.label}: {exc}")
    return drivers, problems


class RunningDevices:
    """Which remembered device runs as which driver, so the device dialog's changes take effect now."""

    def __init__(
        self, catalogs: list[DeviceCatalog], clock: Clock, add: Callable[[Driver], None], remove: Callable[[Driver], None]
    ) -> None:
        self._catalogs = {c.transport: c for c in catalogs}
        self._clock = clock
        self._add, self._remove = add, remove
        self._running: dict[DeviceConfig, Driver] = {}

    def adopt(self, configs: list[DeviceConfig], drivers: list[Driver]) -> None:
        """Remember drivers started at program start (same order as their configs)."""
        self._running.update(zip(configs, drivers, strict=False))

    def apply(self, configs: list[DeviceConfig]) -> list[str]:
        problems = []
        for config in [c for c in self._running if c not in configs]:
            self._remove(self._running.pop(config))
        for config in configs:
            if config in self._running:
                continue
            catalog = self._catalogs.get(config.transport)
            try:
                if catalog is None:
                    raise ConfigError(f"no {config.transport} support on this computer")
                driver = catalog.make_driver(config, self._clock)
            except KnownError as exc:
                problems.append(f"{config.label}: {exc}")
                continue
            self._add(driver)
            self._running[config] = driver
        return problems
