"""A whole simulated ketamine session through the real pipeline: simulated devices → core → recorder
→ SQLite, then read back through the JSON export. What the devices emitted is captured by a tee in
front of the core, so the recording is checked against the emission, not against itself."""

from __future__ import annotations

import math
import threading
import time

import pytest

from app.pipeline import Pipeline
from devices.sim.scenario import load_scenario
from devices.sim.simulated import simulated_devices
from monitor.clock import SessionClock
from monitor.session import DosingProtocol, SessionInfo
from recordings.database import open_database
from recordings.export import export_session
from tests.simulated_session import dose_when_ready

pytestmark = pytest.mark.slow


class Tee:
    """A DriverSink that remembers every reading and block before passing it to the core."""

    def __init__(self, core):
        self._core = core
        self._lock = threading.Lock()
        self.readings = []
        self.samples = {}

    def register_device(self, info):
        self._core.register_device(info)

    def put_readings(self, readings):
        with self._lock:
            self.readings.extend(readings)
        self._core.put_readings(readings)

    def put_waveform(self, block):
        with self._lock:
            key = (block.source, block.channel)
            self.samples[key] = self.samples.get(key, 0) + block.n
        self._core.put_waveform(block)

    def put_status(self, status):
        self._core.put_status(status)


def _wait_until(predicate, timeout_s):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_ketamine_typical_two_hours_every_reading_recorded_and_bp_peaks_at_40_min(db_url):
    speed = 600.0
    clock = SessionClock(speed=speed)
    scenario = load_scenario("ketamine-typical")
    pipeline = Pipeline(clock, db_url)
    pipeline.start()
    try:
        info = pipeline.start_session(
            SessionInfo("SIM-E2E-1", DosingProtocol.SPRAVATO, "Test nurse", clock.now(), speed=speed)
        ).info
        tee = Tee(pipeline.core)
        for driver in simulated_devices(scenario, clock, pipeline.t0, seed=3):
            pipeline.add_driver(driver, tee)
        dose_at = info.started + scenario.demo.dose_after_s
        _wait_until(lambda: clock.now() >= dose_at, 10)
        dose_when_ready(pipeline, dose_at)
        _wait_until(lambda: clock.now() >= dose_at + 120 * 60, 60)
    finally:
        pipeline.close(end_reason="test finished")

    db = open_database(db_url)
    try:
        doc = export_session(db, "latest")
    finally:
        db.close()

    emitted = {(r.source, r.channel, round(r.t, 6)): r.value for r in tee.readings}
    recorded = {(r["source"], r["channel"], round(r["t"], 6)): r["value"] for r in doc["readings"]}
    assert len(tee.readings) > 2 * 7200  # SpO2 + PR at 1 Hz for two hours, plus the cuff
    assert len(recorded) == len(emitted) == len(doc["readings"])
    assert recorded.keys() == emitted.keys()
    for key, value in emitted.items():
        if math.isnan(value):
            assert recorded[key] is None, key
        else:
            assert recorded[key] == pytest.approx(value), key

    recorded_samples = {}
    for w in doc["waveforms"]:
        key = (w["source"], w["channel"])
        recorded_samples[key] = recorded_samples.get(key, 0) + len(w["samples"])
    assert recorded_samples == tee.samples

    assert doc["session"]["t0"] is not None and doc["session"]["end_reason"] == "test finished"
    sys_readings = [
        (r["minutes_from_t0"], r["value"]) for r in doc["readings"] if r["channel"] == "nibp_sys" and r["value"] is not None
    ]
    peak_minute, peak = max(sys_readings, key=lambda mv: mv[1])
    baseline = [v for m, v in sys_readings if m < 0]
    assert baseline, "a pre-dose cuff reading was taken"
    assert 30 <= peak_minute <= 50, f"SBP peak {peak} at T+{peak_minute:.1f} min"
    assert peak - max(baseline) > 5
    kinds = [e["kind"] for e in doc["events"]]
    assert "session_started" in kinds and "dose_given" in kinds and "session_ended" in kinds
