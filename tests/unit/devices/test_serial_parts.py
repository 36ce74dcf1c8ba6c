"""The serial catalog, the driver's naming and its behaviour on a port that cannot be opened, and
the JSON device store."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
import serial

from app.device_store import JsonDeviceStore, RunningDevices, remembered_drivers
from devices.decoding import load_all
from devices.serial_catalog import SerialCatalog
from devices.serial_driver import SerialDriver, source_for
from monitor.clock import FakeClock
from monitor.errors import ConfigError
from monitor.ports import DeviceConfig
from monitor.readings import LinkState


class Sink:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = []
        self.readings = []

    def register_device(self, info):
        pass

    def put_readings(self, readings):
        with self.lock:
            self.readings.extend(readings)

    def put_waveform(self, block):
        pass

    def put_status(self, status):
        with self.lock:
            self.statuses.append(status)


def test_source_names():
    assert source_for("/dev/ttyUSB0") == "serial:ttyUSB0"
    assert source_for("COM3") == "serial:COM3"
    assert source_for("socket://127.0.0.1:5000") == "serial:127.0.0.1:5000"


def test_catalog_lists_ports_with_usb_ids(monkeypatch):
    fake = SimpleNamespace(device="/dev/ttyUSB0", vid=0x10C4, pid=0xEA60, product="CP2102 USB to UART Bridge Controller",
                           description="CP2102", manufacturer="Silicon Labs", serial_number="0001", location="1-1.2")  # fmt: skip
    monkeypatch.setattr("devices.serial_catalog.list_ports.comports", lambda: [fake])
    cat = SerialCatalog()
    [dev] = cat.discover(1.0)
    assert dev.address == "/dev/ttyUSB0" and "10c4:ea60" in dev.name and "Silicon Labs" in dev.detail and "0001" in dev.detail
    assert dev.protocols[0] == "cms50-v7"
    assert set(cat.protocols()) >= {
        "cms50-live5",
        "cms50-v7",
        "nonin-2",
        "nonin-7",
        "nonin-8",
        "masimo-ascii",
        "accutorr",
        "hl7-mllp",
    }
    with pytest.raises(ConfigError, match="unknown serial protocol"):
        cat.make_driver(DeviceConfig("serial", "nope", "/dev/ttyUSB0", "x"), FakeClock())


def test_driver_on_a_missing_port_reports_lost_and_retries_without_raising():
    calls = []

    def factory(url, **kw):
        calls.append(kw)
        raise serial.SerialException(2, f"could not open port {url}")

    d = SerialDriver("/dev/ttyNOPE", load_all()["nonin-2"], FakeClock(), port_factory=factory, backoff_s=(0.01, 0.02))
    sink = Sink()
    d.start(sink)
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    d.stop()
    states = [s.state for s in sink.statuses]
    assert states[0] is LinkState.CONNECTING and LinkState.LOST in states and states[-1] is LinkState.STOPPED
    lost = next(s for s in sink.statuses if s.state is LinkState.LOST)
    assert "No such file or directory" in lost.detail and "retrying" in lost.detail
    assert calls[0]["baudrate"] == 9600 and calls[0]["timeout"] == 0.1


def test_driver_over_loop_url_decodes_and_writes_the_start_command():
    """pyserial's loop:// echoes what we write: the V7 start command comes back as a (downlink)
    packet the decoder skips, and frames we put in decode."""
    port = serial.serial_for_url("loop://", timeout=0.1)
    frame = bytes([0x01, 0x88, 0x88, 0xC0, 0x85, 0xC8, 0xE1, 0xE8, 0x81])
    d = SerialDriver("loop://", load_all()["cms50-v7"], FakeClock(), port_factory=lambda url, **kw: port)
    sink = Sink()
    d.start(sink)
    port.write(frame * 5)  # the decoder's frame lock needs 5 frames in a row
    deadline = time.monotonic() + 5
    while not sink.readings and time.monotonic() < deadline:
        time.sleep(0.01)
    d.stop()
    assert [(r.channel, r.value) for r in sink.readings][:2] == [("pr", 200.0), ("spo2", 97.0)]
    assert sink.readings[0].source == "serial:loop"


def test_store_round_trip_atomic_and_corrupt_file(tmp_path):
    store = JsonDeviceStore(tmp_path / "cfg" / "devices.json")
    assert store.load() == []
    configs = [
        DeviceConfig("serial", "cms50-v7", "/dev/ttyUSB0", "Bedside oximeter"),
        DeviceConfig("serial", "accutorr", "COM3", "Cuff", 9600),
    ]
    store.save(configs)
    assert store.load() == configs
    assert [p.name for p in (tmp_path / "cfg").iterdir()] == ["devices.json"]
    store.path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"damaged.*Devices"):
        store.load()


def test_remembered_drivers_and_running_devices(tmp_path):
    store = JsonDeviceStore(tmp_path / "devices.json")
    good = DeviceConfig("serial", "nonin-2", "/dev/ttyUSB7", "Oximeter")
    store.save([good, DeviceConfig("serial", "nope", "/dev/ttyS9", "Old"), DeviceConfig("ble", "ble-hrs", "AA:BB", "Strap")])
    drivers, problems = remembered_drivers(store, [SerialCatalog()], FakeClock())
    assert [d.info.label for d in drivers] == ["Oximeter"]
    assert len(problems) == 2 and "Old" in problems[0] and "Strap" in problems[1]
    added, removed = [], []
    running = RunningDevices([SerialCatalog()], FakeClock(), added.append, removed.append)
    running.adopt([good], drivers)
    other = DeviceConfig("serial", "masimo-ascii", "/dev/ttyUSB8", "Rad-8")
    assert running.apply([other]) == []
    assert removed == drivers and [d.info.label for d in added] == ["Rad-8"]
