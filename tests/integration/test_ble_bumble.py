"""Simulated BLE peripherals → real GATT notifications/indications over bumble's LocalLink →
BleDriver → core → recorder → JSON export, including a dropped link (LOST within 2 s, then
reconnected and streaming again), stored cuff results with their own timestamps, scanning and
spot-checks. No radio, no BlueZ, no D-Bus."""

from __future__ import annotations

import threading
import time

import pytest

from app.pipeline import Pipeline
from devices.sim.ble_peripherals import SIMULATED, VirtualBleRoom
from monitor.clock import FakeClock, SessionClock
from monitor.ports import DeviceConfig
from monitor.readings import DeviceStatus, LinkState, Reading
from monitor.session import DosingProtocol, SessionInfo
from recordings.database import open_database
from recordings.export import export_session

pytestmark = pytest.mark.slow

SRC = {kind: f"ble:{sim.address}" for kind, sim in SIMULATED.items()}


class Tee:
    """A DriverSink keeping readings and statuses (with the real time they came) before the core."""

    def __init__(self, core=None) -> None:
        self._core = core
        self._lock = threading.Lock()
        self.readings: list[Reading] = []
        self.statuses: list[tuple[float, DeviceStatus]] = []

    def register_device(self, info):
        if self._core is not None:
            self._core.register_device(info)

    def put_readings(self, readings):
        with self._lock:
            self.readings.extend(readings)
        if self._core is not None:
            self._core.put_readings(readings)

    def put_waveform(self, block):
        if self._core is not None:
            self._core.put_waveform(block)

    def put_status(self, status):
        with self._lock:
            self.statuses.append((time.monotonic(), status))
        if self._core is not None:
            self._core.put_status(status)

    def of(self, channel, source=None):
        with self._lock:
            return [r for r in self.readings if r.channel == channel and (source is None or r.source == source)]

    def states(self, source):
        with self._lock:
            return [(t, s.state, s.detail) for t, s in self.statuses if s.source == source]


def wait_until(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_three_ble_devices_record_through_the_pipeline_and_survive_a_dropped_link(db_url):
    clock = SessionClock(speed=30)
    pipeline = Pipeline(clock, db_url)
    pipeline.start()
    room = VirtualBleRoom(clock, "baseline", pipeline.t0, seed=2)
    tee = Tee(pipeline.core)
    try:
        pipeline.start_session(SessionInfo("SIM-BLE-1", DosingProtocol.SPRAVATO, "Test nurse", clock.now(), speed=30))
        room.start()
        for driver in room.drivers():
            pipeline.add_driver(driver, tee)
        # the cuff's first cycle starts with the room: live pressure, then the result after 30 session s
        wait_until(lambda: tee.of("hr") and tee.of("spo2") and tee.of("cuff") and tee.of("nibp_sys"), 15)

        n_before = len(tee.of("spo2"))
        dropped_at = time.monotonic()
        room.drop("plx")
        wait_until(lambda: any(s is LinkState.LOST for _, s, _ in tee.states(SRC["plx"])), 2.0)
        lost_at, _, detail = next(x for x in tee.states(SRC["plx"]) if x[1] is LinkState.LOST)
        assert lost_at - dropped_at < 2.0
        assert "Bluetooth link lost" in detail and "reconnecting" in detail
        wait_until(lambda: [s for _, s, _ in tee.states(SRC["plx"])][-1] is LinkState.STREAMING, 10)
        wait_until(lambda: len(tee.of("spo2")) > n_before + 5, 10)  # streaming again after the reconnect
    finally:
        try:
            pipeline.close(end_reason="test finished")
        finally:
            room.stop()

    for kind in SIMULATED:
        states = [s for _, s, _ in tee.states(SRC[kind])]
        assert states[0] is LinkState.CONNECTING and states[-1] is LinkState.STOPPED
    cuff = tee.of("nibp_sys", SRC["bpm"])
    assert all(r.device_t is not None and abs(r.device_t - r.t) < 60 for r in cuff)  # the cuff's own clock, kept

    db = open_database(db_url)
    try:
        doc = export_session(db, "latest")
    finally:
        db.close()
    assert {SRC[k] for k in SRC} <= {d["source"] for d in doc["devices"]}
    recorded = {(r["source"], r["channel"]) for r in doc["readings"]}
    assert {
        (SRC["hrs"], "hr"),
        (SRC["plx"], "spo2"),
        (SRC["plx"], "pr"),
        (SRC["bpm"], "cuff"),
        (SRC["bpm"], "nibp_sys"),
    } <= recorded
    emitted = {(r.source, r.channel, round(r.t, 6)): r.value for r in tee.readings}
    exported = {
        (r["source"], r["channel"], round(r["t"], 6)): r["value"] for r in doc["readings"] if r["source"].startswith("ble:")
    }
    assert exported.keys() == emitted.keys()
    assert all(exported[k] == pytest.approx(v) for k, v in emitted.items())
    assert 60 <= max(v for (s, c, _), v in exported.items() if c == "spo2") <= 100
    statuses = [e for e in doc["events"] if e["kind"] == "device_status" and e["source"] == SRC["plx"]]
    assert "lost" in [e["data"]["state"] for e in statuses]


def test_cuff_results_taken_while_disconnected_arrive_later_with_their_own_time():
    clock = FakeClock()
    with VirtualBleRoom(clock, "baseline", lambda: None, kinds=("bpm",)) as room:
        started = clock.now()
        clock.advance(35.0)  # the first cycle (30 s) ends while no central is connected
        cuff = room.peripherals["bpm"]
        wait_until(lambda: cuff._stored, 5)
        clock.advance(600.0)  # ...and a second one, two intervals later
        wait_until(lambda: len(cuff._stored) == 3, 5)  # cycles end at 30 s, 330 s and 630 s
        sink = Tee()
        driver = room.driver("bpm")
        driver.start(sink)
        try:
            wait_until(lambda: len(sink.of("nibp_sys")) == 3, 10)
        finally:
            driver.stop()
    device_times = [r.device_t for r in sink.of("nibp_sys")]
    assert device_times == [started + 30.0, started + 330.0, started + 630.0]
    assert all(r.t == clock.now() for r in sink.of("nibp_sys"))  # received now: host time is authoritative
    assert {r.channel for r in sink.readings} >= {"nibp_sys", "nibp_dia", "nibp_map", "pr"}


def test_scan_the_virtual_link_and_connect_a_spot_check_oximeter_from_the_catalog():
    clock = SessionClock(speed=600)  # a spot-check every 300 session s = every 0.5 s
    with VirtualBleRoom(clock, "baseline", lambda: None, kinds=("plx", "hrs")) as room:
        catalog = room.catalog()
        assert catalog.transport == "ble" and "ble-plx-spot" in catalog.protocols()
        found = {d.address: d for d in catalog.discover(0.3)}
        plx = found[SIMULATED["plx"].address]
        assert plx.name == "SIM-PLX Oximeter" and plx.protocols == ("ble-plx-cont", "ble-plx-spot")
        assert "RSSI" in plx.detail and "Pulse Oximeter (0x1822)" in plx.detail
        assert found[SIMULATED["hrs"].address].protocols == ("ble-hrs",)

        sink = Tee()
        driver = catalog.make_driver(DeviceConfig("ble", "ble-plx-spot", SIMULATED["plx"].address, "Spot oximeter"), clock)
        assert driver.info.label == "Spot oximeter"
        driver.start(sink)
        try:
            wait_until(lambda: len(sink.of("spo2")) >= 2, 10)
        finally:
            driver.stop()
        assert driver.battery_percent == 87 and driver.device_information["model"] == "SIM-PLX"
    assert all(r.device_t is not None for r in sink.of("spo2"))


def test_a_device_without_the_profile_is_reported_not_crashed():
    clock = SessionClock()
    with VirtualBleRoom(clock, "baseline", lambda: None, kinds=("hrs",)) as room:
        sink = Tee()
        driver = room.driver("hrs", protocol="ble-bpm", backoff_s=(0.2,))
        driver.start(sink)
        try:
            wait_until(lambda: any(s is LinkState.LOST for _, s, _ in sink.states(driver.info.source)), 5)
        finally:
            driver.stop()
    detail = next(d for _, s, d in sink.states(driver.info.source) if s is LinkState.LOST)
    assert "0x2A35" in detail and "right kind of device" in detail
    assert sink.states(driver.info.source)[-1][1] is LinkState.STOPPED
