"""Impossible values from a real decoder (issue 13, finding 7): BLE PLX Continuous bytes written by
hand from the GATT layout (protocols.md §1.4: flags u8, SpO2 SFLOAT, PR SFLOAT) and the SFLOAT rule
(§1.3: 4-bit signed exponent, 12-bit signed mantissa, value = mantissa × 10^exponent), through the
real core thread and the real recorder into SQLite: no physiological alarm, one technical alarm,
the values recorded INVALID|IMPLAUSIBLE with their numbers, and the review trend shows a gap."""

from __future__ import annotations

import math
import time

from devices.ble.gatt import PLX_CONT
from devices.decoding import to_readings
from monitor.alarms import AlarmCategory, AlarmEvent, Transition
from monitor.clock import FakeClock
from monitor.core import Core
from monitor.ports import DeviceInfo
from monitor.readings import Flag, Quality
from monitor.session import DosingProtocol, Session, SessionInfo
from recordings.database import open_database
from recordings.reader import RecordingReader
from recordings.recorder import Recorder

SRC = "ble:AA:BB:CC:DD:EE:FF"
#: flags 0x00 (no optional field), SpO2, PR — SFLOAT little-endian.
FRAMES = (
    bytes.fromhex("00e9044800"),  # SpO2 0x04E9 = 1257 × 10^0 %, PR 0x0048 = 72
    bytes.fromhex("00c92f4800"),  # SpO2 0x2FC9: exponent 2, mantissa 0xFC9 = -55 → -5500 %, PR 72
    bytes.fromhex("006100d072"),  # SpO2 0x0061 = 97, PR 0x72D0: exponent 7, mantissa 720 → 7.2e9 /min
)


def _wait(predicate, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_impossible_ble_plx_values_are_recorded_implausible_and_raise_one_technical_alarm(db_url):
    db = open_database(db_url)
    clock = FakeClock(start=1_800_000_000.0)
    recorder = Recorder(db, None, commit_interval_s=0.05, app_version="itest", clock=clock)
    core = Core(clock, recorder)
    recorder.start()
    core.start()
    try:
        core.register_device(DeviceInfo(SRC, "Bedside oximeter", "oximeter", 10.0))
        sid = core.start_session(Session(SessionInfo("P-0042", DosingProtocol.SPRAVATO, "RN Test", clock.now()))).session_id
        decoder = PLX_CONT.factory()
        for frame in FRAMES:
            measurements = decoder.feed(frame)
            assert len(measurements) == 2  # the decoder passes them on: the core is where they are judged
            core.put_readings(to_readings(SRC, measurements, clock.advance(1.0)))
        _wait(lambda: core.readings_ingested == 6)
        time.sleep(0.3)  # a few alarm ticks of the core thread
        core.stop()
        assert recorder.flush(10)

        events = []
        while not core.ui_events.empty():
            e = core.ui_events.get()
            if isinstance(e, AlarmEvent) and e.transition is Transition.RAISED:
                events.append(e)
        assert not [e for e in events if e.category is AlarmCategory.PHYSIOLOGICAL]
        technical = [e for e in events if e.category is AlarmCategory.TECHNICAL and e.key != "config:hr_limits"]
        assert [e.key for e in technical] == [f"implausible:{SRC}"], technical
        assert (
            "Bedside oximeter" in technical[0].message and "implausible value" in technical[0].message
        )  # names the latest (all frames arrive in one tick)

        reader = RecordingReader(db)
        rows = reader.readings(sid)
        odd = [(r.channel, r.value) for r in rows if r.flags & Flag.IMPLAUSIBLE]
        assert odd == [("spo2", 1257.0), ("spo2", -5500.0), ("pr", 7.2e9)]
        assert all(r.quality is Quality.INVALID for r in rows if r.flags & Flag.IMPLAUSIBLE)
        assert sorted(r.value for r in rows if r.valid) == [72.0, 72.0, 97.0]
        _, spo2 = reader.series(sid, ["spo2"])["spo2"]  # what the review trend plots
        assert math.isnan(spo2[0]) and math.isnan(spo2[1]) and spo2[2] == 97.0
    finally:
        core.stop()
        recorder.stop()
        db.close()
