"""Alarms through the real pipeline: simulated devices → core (alarm engine) → recorder → SQLite →
JSON export. The scenarios must raise exactly the alarms the default preset calls for, in the
right priority order, and every transition must be in the exported alarm log."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from app.pipeline import Pipeline
from monitor.alarms import AlarmEvent, AlarmPriority, Inactivation, Transition
from monitor.clock import SessionClock
from monitor.ports import DeviceInfo, DriverSink
from monitor.readings import DeviceStatus, LinkState, Reading
from monitor.session import DosingProtocol, SessionInfo
from recordings.database import open_database
from recordings.export import export_session
from tests.simulated_session import record_scenario
from tests.simulated_session import wait_until as _wait_until

pytestmark = pytest.mark.slow


def _run_scenario(db_url: str, name: str, minutes_after_dose: float) -> dict:
    record_scenario(db_url, name, minutes_after_dose, patient_id="SIM-ALARM")
    db = open_database(db_url)
    try:
        return export_session(db, "latest")
    finally:
        db.close()


def _physiological(log: list[dict]) -> list[dict]:
    return [e for e in log if e["kind"] == "alarm" and e.get("category") == "physiological"]


def test_hypertensive_responder_raises_the_sbp_and_dbp_alarms(db_url):
    doc = _run_scenario(db_url, "hypertensive-responder", 45)
    log = doc["alarm_log"]
    raised = [e for e in _physiological(log) if e["transition"] == "raised"]
    assert {e["key"] for e in raised} == {"sbp_high", "dbp_high"}, raised
    sbp = next(e for e in raised if e["key"] == "sbp_high")
    assert sbp["priority"] == "MEDIUM" and sbp["limit"] == 180 and sbp["value"] >= 180
    assert sbp["message"] == f"SBP {sbp['value']:.0f} ≥ 180"
    assert 25 <= sbp["minutes_from_t0"] <= 45  # the peak is about 40 min after the dose
    # nothing technical went wrong in a clean simulated run
    assert [e for e in log if e["kind"] == "alarm" and e.get("category") == "technical"] == []
    # the log entries are also plain events of the recording
    assert sum(1 for e in doc["events"] if e["kind"] == "alarm") == len(log)


def test_respiratory_depression_raises_spo2_medium_then_high(db_url):
    doc = _run_scenario(db_url, "respiratory-depression", 36)
    spo2 = [e for e in _physiological(doc["alarm_log"]) if e["key"] == "spo2_low"]
    assert {e["key"] for e in _physiological(doc["alarm_log"])} == {"spo2_low"}
    transitions = [(e["transition"], e["priority"]) for e in spo2]
    assert transitions[:2] == [("raised", "MEDIUM"), ("escalated", "HIGH")], transitions
    raised, escalated = spo2[0], spo2[1]
    assert raised["message"].startswith("SpO₂ ") and raised["limit"] == 93 and raised["value"] < 93
    assert escalated["limit"] == 90 and escalated["value"] <= 90 and escalated["latching"] is True
    assert raised["t"] < escalated["t"]
    assert 20 <= raised["minutes_from_t0"] <= 30


class LosableDriver:
    """A device that streams SpO2 until told to lose its link, then posts LOST (like an unplug)."""

    def __init__(self, clock) -> None:
        self._clock = clock
        self.info = DeviceInfo("test:oximeter", "Test oximeter", "oximeter", stale_after_s=10.0)
        self._stop = threading.Event()
        self.lose = threading.Event()
        self.lost_at: float | None = None
        self._thread: threading.Thread | None = None

    def start(self, sink: DriverSink) -> None:
        self._sink = sink
        sink.register_device(self.info)
        self._thread = threading.Thread(target=self._run, name="driver:test", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._sink.put_status(DeviceStatus(self.info.source, LinkState.STREAMING, self._clock.now()))
        while not self._stop.is_set():
            if self.lose.is_set():
                self.lost_at = time.monotonic()
                self._sink.put_status(DeviceStatus(self.info.source, LinkState.LOST, self._clock.now(), "port vanished"))
                return
            self._sink.put_readings([Reading(self.info.source, "spo2", self._clock.now(), 97.0)])
            self._stop.wait(0.05)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)


def test_a_lost_device_raises_device_lost_within_2_s_and_it_is_logged(db_url):
    clock = SessionClock(speed=1.0)
    pipeline = Pipeline(clock, db_url)
    pipeline.start()
    driver = LosableDriver(clock)
    try:
        pipeline.start_session(SessionInfo("SIM-LOST", DosingProtocol.KETAMINE_IV, "Test nurse", clock.now()))
        pipeline.add_driver(driver)
        _wait_until(lambda: pipeline.core.store.latest("spo2") is not None, 5)
        driver.lose.set()
        seen: list[AlarmEvent] = []

        def lost_alarm() -> bool:
            try:
                while True:
                    e = pipeline.core.ui_events.get_nowait()
                    if isinstance(e, AlarmEvent):
                        seen.append(e)
            except queue.Empty:
                pass
            return any(e.transition is Transition.RAISED and e.key == "link:test:oximeter" for e in seen)

        _wait_until(lost_alarm, 5)
        raised_real = time.monotonic()
        assert driver.lost_at is not None and raised_real - driver.lost_at < 2.0
        event = next(e for e in seen if e.key == "link:test:oximeter")
        assert event.priority is AlarmPriority.MEDIUM and event.message == "Test oximeter lost: port vanished"
        pipeline.core.alarms.acknowledge("RN Jansen")
        pipeline.core.alarms.inactivate(Inactivation.AUDIO_PAUSED, "RN Jansen")
        pipeline.core.alarms.resume("RN Jansen")
        pipeline.core.alarms.change_rule("sbp_high", "limit", 170.0, "RN Jansen")
    finally:
        pipeline.close(end_reason="test finished")
    db = open_database(db_url)
    try:
        doc = export_session(db, "latest")
    finally:
        db.close()
    lost = [e for e in doc["alarm_log"] if e["key"] == "link:test:oximeter"]
    assert [e["transition"] for e in lost][:1] == ["raised"] and lost[0]["category"] == "technical"
    assert lost[0]["priority"] == "MEDIUM"
    actions = [(e["kind"], e["transition"], e["user"]) for e in doc["alarm_log"] if e["user"] == "RN Jansen"]
    assert actions == [
        ("alarm", "acknowledged", "RN Jansen"),
        ("alarm", "paused", "RN Jansen"),
        ("alarm", "resumed", "RN Jansen"),
        ("alarm_setting", "setting_changed", "RN Jansen"),
    ]
    setting = next(e for e in doc["alarm_log"] if e["kind"] == "alarm_setting")
    assert (setting["rule"], setting["field"], setting["old"], setting["new"]) == ("sbp_high", "limit", 180.0, 170.0)
    paused = next(e for e in doc["alarm_log"] if e["transition"] == "paused")
    assert paused["state"] == "audio paused" and paused["until"] == pytest.approx(paused["t"] + 120)


def test_artefacts_raise_technical_alarms_never_physiological_ones(db_url):
    doc = _run_scenario(db_url, "artefacts", 45)
    log = doc["alarm_log"]
    assert _physiological(log) == []  # implausible SpO2 55-84 % and cuff 230 mmHg flagged as artefact
    raised = {e["key"] for e in log if e["kind"] == "alarm" and e["transition"] == "raised"}
    assert {"artefact:sim:oximeter", "sensor_off:sim:oximeter", "artefact:sim:nibp"} <= raised, raised
    sensor = next(e for e in log if e["key"] == "sensor_off:sim:oximeter")
    assert sensor["priority"] == "MEDIUM" and "sensor off" in sensor["message"]


def _drain_alarm_events(pipeline, seen: list[AlarmEvent]) -> list[AlarmEvent]:
    try:
        while True:
            e = pipeline.core.ui_events.get_nowait()
            if isinstance(e, AlarmEvent):
                seen.append(e)
    except queue.Empty:
        pass
    return seen


@pytest.mark.posix
def test_pty_unplug_raises_device_lost_within_2_s_logs_it_and_replug_clears_it(db_url):
    """A Nonin oximeter on a real pseudo-terminal: pull the cable → "device lost" alarm within 2 s,
    in the exported alarm log; plug it back → the condition clears."""
    from devices.decoding import load_all
    from devices.serial_driver import SerialDriver
    from devices.sim.protocol_sims import PtySimulator

    clock = SessionClock(speed=1.0)
    pipeline = Pipeline(clock, db_url)
    sim = PtySimulator("nonin-7", clock, "baseline", pipeline.t0, seed=5)
    pipeline.start()
    seen: list[AlarmEvent] = []
    try:
        pipeline.start_session(SessionInfo("SER-ALARM", DosingProtocol.SPRAVATO, "Test nurse", clock.now()))
        sim.start()
        driver = SerialDriver(sim.path, load_all()["nonin-7"], clock, label="Bedside Nonin")
        pipeline.add_driver(driver)
        _wait_until(lambda: pipeline.core.store.latest("spo2") is not None, 15)
        key = f"link:{driver.info.source}"
        assert not any(e.key == key for e in _drain_alarm_events(pipeline, seen))

        sim.unplug()
        pulled = time.monotonic()
        _wait_until(
            lambda: any(e.transition is Transition.RAISED and e.key == key for e in _drain_alarm_events(pipeline, seen)), 5
        )
        latency = time.monotonic() - pulled
        assert latency < 2.0, f"device lost alarm after {latency:.2f} s"
        raised = next(e for e in seen if e.key == key)
        assert raised.priority is AlarmPriority.MEDIUM and raised.message.startswith("Bedside Nonin lost")
        assert key in {c.key for c in pipeline.core.alarms.state().conditions}

        time.sleep(0.5)  # a few failed reconnect attempts while the cable is out
        sim.replug()
        _wait_until(
            lambda: any(e.transition is Transition.CLEARED and e.key == key for e in _drain_alarm_events(pipeline, seen)), 15
        )
        assert key not in {c.key for c in pipeline.core.alarms.state().conditions}
    finally:
        pipeline.close(end_reason="test finished")
        sim.stop()
    db = open_database(db_url)
    try:
        doc = export_session(db, "latest")
    finally:
        db.close()
    lost = [e for e in doc["alarm_log"] if e["key"] == key]
    assert [e["transition"] for e in lost] == ["raised", "cleared"], lost
    assert lost[0]["category"] == "technical" and lost[0]["priority"] == "MEDIUM" and lost[0]["technical"] == "link"
    assert lost[0]["message"].startswith("Bedside Nonin lost")


def test_symptoms_and_the_hr_confirmation_are_in_the_exported_alarm_log(db_url):
    from monitor.alarms import HR_CONFIRM_KEY, MemoryAlarmConfig, Role

    clock = SessionClock(speed=1.0)
    pipeline = Pipeline(clock, db_url)
    pipeline.start()
    core = pipeline.core
    try:
        core.alarms.attach_config(MemoryAlarmConfig())
        pipeline.start_session(SessionInfo("SIM-CRISIS", DosingProtocol.SPRAVATO, "RN Jansen", clock.now()))
        core.put_readings(
            [Reading("test:nibp", "nibp_sys", clock.now(), 192.0), Reading("test:nibp", "nibp_dia", clock.now(), 100.0)]
        )
        _wait_until(lambda: "sbp_high" in {c.key for c in core.alarms.state().conditions}, 5)
        core.alarms.set_crisis_symptoms({"chest_pain", "neuro_deficit"}, "RN Jansen")
        core.alarms.confirm_hr_limits("Dr Vos", Role.RESPONSIBLE_ORGANIZATION)
    finally:
        pipeline.close(end_reason="test finished")
    db = open_database(db_url)
    try:
        doc = export_session(db, "latest")
    finally:
        db.close()
    log = doc["alarm_log"]
    notice = [e for e in log if e["key"] == HR_CONFIRM_KEY]
    assert [e["transition"] for e in notice] == ["raised", "cleared"] and notice[0]["priority"] == "LOW"
    [symptoms] = [e for e in log if e["transition"] == "symptoms"]
    assert symptoms["user"] == "RN Jansen" and symptoms["symptoms"] == ["chest_pain", "neuro_deficit"] and symptoms["time"]
    sbp = [(e["transition"], e["priority"]) for e in log if e["key"] == "sbp_high"]
    assert sbp[:2] == [("raised", "MEDIUM"), ("escalated", "HIGH")]
    escalated = next(e for e in log if e["key"] == "sbp_high" and e["transition"] == "escalated")
    assert escalated["message"] == "SBP 192 ≥ 180 + chest pain, neurological deficit — refer for emergency care"
    [confirmed] = [e for e in log if e["kind"] == "alarm_setting"]
    assert (confirmed["rule"], confirmed["user"], confirmed["hr_low"], confirmed["hr_high"]) == (
        "hr_limits",
        "Dr Vos",
        50.0,
        120.0,
    )
