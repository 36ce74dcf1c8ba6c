"""The core on a fake clock and a fake recorder: buffers, links, session lifecycle."""

import math
import time

import numpy as np
import pytest

from monitor.clock import FakeClock
from monitor.core import Core
from monitor.events import EventKind, NoticeLevel, TechnicalNotice
from monitor.ports import DeviceInfo
from monitor.readings import DeviceStatus, LinkState, Quality, Reading, WaveformBlock
from monitor.session import DosingProtocol, Session, SessionInfo


class FakeRecorder:
    """Records what the core hands over (the boundary the real Recorder sits behind)."""

    def __init__(self):
        self.readings, self.blocks, self.events, self.sessions, self.devices = [], [], [], [], []

    def begin_session(self, info):
        self.sessions.append(info)
        return 7

    def update_session(self, info):
        self.sessions.append(info)

    def add_event(self, sid, event):
        self.events.append((sid, event))

    submit_event = add_event

    def register_device(self, sid, info):
        self.devices.append((sid, info.source))

    def submit_readings(self, sid, readings):
        self.readings.extend((sid, r) for r in readings)

    def submit_waveform(self, sid, block):
        self.blocks.append((sid, block))


def drain(q):
    out = []
    while not q.empty():
        out.append(q.get())
    return out


@pytest.fixture
def clock():
    return FakeClock(start=1_800_000_000.0)


def test_latest_value_and_series_per_source(clock):
    core = Core(clock)
    core.put_readings([Reading("a", "hr", 1.0, 60), Reading("a", "hr", 2.0, 61), Reading("b", "hr", 1.5, 70)])
    core.process_pending()
    assert core.store.latest("hr").value == 61
    series = dict(core.store.series("hr"))
    assert series["a"].snapshot()[1].tolist() == [60, 61]
    assert series["b"].snapshot()[1].tolist() == [70]


def test_invalid_reading_becomes_latest_and_a_gap(clock):
    core = Core(clock)
    core.put_readings([Reading("a", "spo2", 1.0, 97), Reading("a", "spo2", 2.0, 0, Quality.INVALID)])
    core.process_pending()
    assert math.isnan(core.store.latest("spo2").value)
    _, v = core.store.series("spo2")[0][1].snapshot()
    assert v[0] == 97 and math.isnan(v[1])


def test_readings_are_recorded_only_inside_a_session(clock):
    rec = FakeRecorder()
    core = Core(clock, rec)
    core.register_device(DeviceInfo("a", "Oximeter", "oximeter", 10))
    core.put_readings([Reading("a", "spo2", clock.now(), 97)])
    core.process_pending()
    assert rec.readings == []
    core.start_session(Session(SessionInfo("KS-1", DosingProtocol.SPRAVATO, "RN A", clock.now())))
    assert rec.devices == [(7, "a")]
    core.put_readings([Reading("a", "spo2", clock.now(), 96)])
    block = WaveformBlock("a", "pleth", clock.now(), 75.0, np.zeros(75))
    core.put_waveform(block)
    core.process_pending()
    assert [r.value for _, r in rec.readings] == [96]
    assert rec.blocks == [(7, block)]
    info = core.mark_dose()
    assert info.t0 == clock.now()
    core.end_session()
    core.put_readings([Reading("a", "spo2", clock.now(), 95)])
    core.process_pending()
    assert len(rec.readings) == 1  # nothing after the end
    kinds = [e.kind for _, e in rec.events]
    assert kinds[:1] == [EventKind.SESSION_STARTED]
    assert EventKind.DOSE_GIVEN in kinds and kinds[-1] is EventKind.SESSION_ENDED
    assert rec.sessions[-1].ended is not None and rec.sessions[-1].t0 == info.t0


def test_dose_without_session_is_refused(clock):
    with pytest.raises(ValueError, match="no session"):
        Core(clock).mark_dose()


def test_second_session_while_running_refused(clock):
    core = Core(clock)
    core.start_session(Session(SessionInfo("KS-1", DosingProtocol.SPRAVATO, "RN A", clock.now())))
    with pytest.raises(ValueError, match="already running"):
        core.start_session(Session(SessionInfo("KS-2", DosingProtocol.SPRAVATO, "RN A", clock.now())))


def test_lost_device_raises_a_critical_notice_and_recovery_clears_it(clock):
    core = Core(clock)
    core.register_device(DeviceInfo("a", "Pulse oximeter", "oximeter", 10))
    core.put_status(DeviceStatus("a", LinkState.LOST, clock.now(), "port vanished"))
    core.process_pending()
    events = drain(core.ui_events)
    notice = next(e for e in events if isinstance(e, TechnicalNotice))
    assert notice.active and notice.level is NoticeLevel.CRITICAL and "Pulse oximeter lost: port vanished" in notice.message
    core.put_readings([Reading("a", "spo2", clock.now(), 97)])
    core.process_pending()
    cleared = [e for e in drain(core.ui_events) if isinstance(e, TechnicalNotice)]
    # data flowing again after LOST is only "streaming" once the driver says so
    core.put_status(DeviceStatus("a", LinkState.STREAMING, clock.now()))
    core.process_pending()
    cleared += [e for e in drain(core.ui_events) if isinstance(e, TechnicalNotice)]
    assert cleared and not cleared[-1].active and cleared[-1].key == notice.key


def test_watchdog_flags_a_silent_device(clock):
    core = Core(clock)
    core.register_device(DeviceInfo("a", "Oximeter", "oximeter", stale_after_s=5))
    core.start()
    try:
        core.put_readings([Reading("a", "spo2", clock.now(), 97)])
        deadline = time.monotonic() + 3
        while not any(d.state is LinkState.STREAMING for d in core.devices()) and time.monotonic() < deadline:
            time.sleep(0.01)
        clock.advance(6)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if core.devices()[0].state is LinkState.NO_DATA:
                break
            time.sleep(0.05)
        assert core.devices()[0].state is LinkState.NO_DATA
        assert "no data for 6 s" in core.devices()[0].detail
    finally:
        core.stop()


def test_stop_processes_everything_already_delivered(clock):
    core = Core(clock)
    core.start()
    core.put_readings([Reading("a", "hr", float(i), 60.0) for i in range(1000)])
    core.stop()
    assert core.readings_ingested == 1000
