"""The no-Bluetooth path with the real bleak 3.1 on a machine without BlueZ / D-Bus (ours, CI):
a scan fails fast with the nurse's message, a driver reports LOST with it, keeps retrying and
stops cleanly — no exception escapes, nothing hangs."""

from __future__ import annotations

import os
import time

import pytest

from devices.ble.catalog import BleCatalog
from devices.ble.loop import LoopThread
from monitor.clock import SessionClock
from monitor.errors import DeviceError
from monitor.ports import DeviceConfig
from monitor.readings import LinkState

MESSAGE = "Bluetooth is not available on this computer:"

pytestmark = pytest.mark.skipif(
    os.path.exists("/run/dbus/system_bus_socket")
    or os.path.exists("/var/run/dbus/system_bus_socket")
    or bool(os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")),
    reason="this machine has a system D-Bus, so bleak may find real Bluetooth",
)


class StatusSink:
    def __init__(self):
        self.statuses = []

    def register_device(self, info):
        pass

    def put_readings(self, readings):
        raise AssertionError("no readings without Bluetooth")

    def put_waveform(self, block):
        raise AssertionError("no waveforms without Bluetooth")

    def put_status(self, status):
        self.statuses.append((time.monotonic(), status))


@pytest.fixture
def loop_thread():
    thread = LoopThread()
    thread.start()
    yield thread
    thread.stop()


def test_scan_without_bluetooth_raises_the_clear_message_quickly():
    catalog = BleCatalog()  # owns its ble-loop thread
    started = time.monotonic()
    try:
        with pytest.raises(DeviceError) as info:
            catalog.discover(timeout_s=5.0)
    finally:
        catalog.close()
    assert str(info.value).startswith(MESSAGE)
    assert time.monotonic() - started < 2.0


def test_driver_without_bluetooth_reports_lost_keeps_retrying_and_stops(loop_thread):
    catalog = BleCatalog(loop_thread)
    driver = catalog.make_driver(DeviceConfig("ble", "ble-plx-cont", "AA:BB:CC:DD:EE:FF", "Bedside oximeter"), SessionClock())
    driver._backoff_s = (0.1,)  # retry fast so the test sees several attempts
    attempts = []
    original = driver._session

    async def counting_session(transport, sink):
        attempts.append(time.monotonic())
        return await original(transport, sink)

    driver._session = counting_session
    sink = StatusSink()
    started = time.monotonic()
    driver.start(sink)
    try:
        deadline = time.monotonic() + 5
        while len(attempts) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        driver.stop()
    states = [s.state for _, s in sink.statuses]
    assert states[0] is LinkState.CONNECTING and states[-1] is LinkState.STOPPED
    lost = [(t, s) for t, s in sink.statuses if s.state is LinkState.LOST]
    assert lost and lost[0][1].detail.startswith(MESSAGE) and lost[0][0] - started < 2.0
    assert len(attempts) >= 3  # still retrying, and the same reason is reported once
    assert len(lost) == 1
