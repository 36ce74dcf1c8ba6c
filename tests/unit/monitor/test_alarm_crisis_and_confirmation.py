"""Issue 5, second halves: crisis symptoms escalate severe hypertension to HIGH (requirement 15),
the HR limits await the medical director's confirmation (requirement 17), the responsible-
organization PIN is stored hashed (requirement 24). All on a FakeClock."""

from __future__ import annotations

import json

import pytest

from monitor.alarms import (
    CRISIS_SYMPTOMS,
    HR_CONFIRM_KEY,
    AlarmCategory,
    AlarmEngine,
    AlarmPriority,
    AlarmSettingError,
    MemoryAlarmConfig,
    Role,
    Transition,
    hash_pin,
    preset_for,
    preset_table,
    verify_pin,
)
from monitor.clock import FakeClock
from monitor.core import Core
from monitor.readings import Reading
from monitor.session import DosingProtocol, Session, SessionInfo

OXI, CUFF = "sim:oximeter", "sim:nibp"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def engine() -> AlarmEngine:
    e = AlarmEngine(preset_for(DosingProtocol.SPRAVATO))
    e.register_source(OXI, "Oximeter", 10.0)
    e.register_source(CUFF, "Cuff", 390.0)
    return e


def feed(engine, clock, channel, value, source=CUFF):
    clock.advance(1)
    return engine.on_readings([Reading(source, channel, clock.now(), value)], clock.now())


def kinds(events):
    return [(e.transition.value, e.key) for e in events]


def only(engine, clock, key):
    [c] = [c for c in engine.snapshot(clock.now()).conditions if c.key == key]
    return c


# ---- crisis symptoms (requirement 15) ------------------------------------------------------------


def test_a_ticked_symptom_escalates_severe_hypertension_to_high_with_the_emergency_prompt(engine, clock):
    assert kinds(feed(engine, clock, "nibp_sys", 186)) == [("raised", "sbp_high")]
    assert only(engine, clock, "sbp_high").priority is AlarmPriority.MEDIUM
    events = engine.set_crisis_symptoms({"chest_pain", "dyspnoea"}, clock.now(), "RN Jansen")
    assert kinds(events) == [("symptoms", "crisis_symptoms"), ("escalated", "sbp_high")]
    tick = events[0]
    assert tick.user == "RN Jansen" and tick.t == clock.now()
    assert tick.data == {"symptoms": ["chest_pain", "dyspnoea"], "added": ["chest_pain", "dyspnoea"], "removed": []}
    assert tick.record()["transition"] == "symptoms" and tick.message == "Crisis symptoms: chest pain, dyspnoea"
    c = only(engine, clock, "sbp_high")
    assert c.priority is AlarmPriority.HIGH
    assert c.message == "SBP 186 ≥ 180 + chest pain, dyspnoea — refer for emergency care"
    assert engine.snapshot(clock.now()).audio is AlarmPriority.HIGH
    assert engine.snapshot(clock.now()).symptoms == ("chest_pain", "dyspnoea")
    # unticked: back to MEDIUM, and the untick is logged too
    events = engine.set_crisis_symptoms(set(), clock.now(), "RN Jansen")
    assert kinds(events) == [("symptoms", "crisis_symptoms"), ("deescalated", "sbp_high")]
    assert events[0].data["removed"] == ["chest_pain", "dyspnoea"]
    assert only(engine, clock, "sbp_high").message == "SBP 186 ≥ 180"


def test_symptoms_without_severe_hypertension_raise_nothing_until_bp_crosses(engine, clock):
    assert kinds(engine.set_crisis_symptoms({"severe_headache"}, clock.now(), "RN")) == [("symptoms", "crisis_symptoms")]
    assert engine.snapshot(clock.now()).conditions == ()
    assert feed(engine, clock, "nibp_sys", 160) == []
    events = feed(engine, clock, "nibp_dia", 112)
    assert kinds(events) == [("raised", "dbp_high")] and events[0].priority is AlarmPriority.HIGH
    assert events[0].message == "DBP 112 ≥ 110 + severe headache — refer for emergency care"
    # other conditions are never escalated by symptoms
    feed(engine, clock, "pr", 130, OXI)
    assert only(engine, clock, "hr_high").priority is AlarmPriority.MEDIUM
    assert kinds(feed(engine, clock, "nibp_dia", 90)) == [("cleared", "dbp_high")]


def test_symptom_input_is_checked_and_cleared_for_a_new_patient(engine, clock):
    with pytest.raises(AlarmSettingError, match="unknown crisis symptom nausea"):
        engine.set_crisis_symptoms({"nausea"}, clock.now(), "RN")
    with pytest.raises(AlarmSettingError, match="name of the person"):
        engine.set_crisis_symptoms({"chest_pain"}, clock.now(), " ")
    engine.set_crisis_symptoms(set(CRISIS_SYMPTOMS), clock.now(), "RN")
    assert engine.set_crisis_symptoms(set(CRISIS_SYMPTOMS), clock.now(), "RN") == []  # nothing changed: nothing logged
    engine.start_session(preset_for(DosingProtocol.KETAMINE_IV), clock.now(), "RN")
    assert engine.symptoms == frozenset()
    assert kinds(feed(engine, clock, "nibp_sys", 190)) == [("raised", "sbp_high")]
    assert only(engine, clock, "sbp_high").priority is AlarmPriority.MEDIUM


def test_preset_table_lists_the_crisis_escalation_and_new_technical_conditions():
    table = {row["rule"]: row for row in preset_table(preset_for(None))}
    crisis = table["hypertensive_crisis"]
    assert crisis["priority"] == "HIGH" and "req. 15" in crisis["source"] and "chest pain" in crisis["source"]
    assert table["configuration"]["priority"] == "LOW" and "req. 17" in table["configuration"]["source"]
    assert table["alarm_system"]["priority"] == "HIGH" and "120 s" in table["alarm_system"]["source"]


# ---- HR limits confirmation (requirement 17) -------------------------------------------------------


def test_unconfirmed_hr_limits_are_a_persistent_low_notice_while_hr_still_alarms(engine, clock):
    events = engine.require_hr_confirmation(None, clock.now())
    assert kinds(events) == [("raised", HR_CONFIRM_KEY)]
    c = only(engine, clock, HR_CONFIRM_KEY)
    assert c.priority is AlarmPriority.LOW and c.category is AlarmCategory.TECHNICAL
    assert c.message == "HR alarm limits not yet confirmed by the medical director — open Limits…"
    # the HR rule still evaluates: a bradycardia is not ignored because nobody confirmed 50
    assert kinds(feed(engine, clock, "pr", 44, OXI)) == [("raised", "hr_low")]
    # it persists: ticks, acknowledgement and a new session do not make it go away
    clock.advance(600)
    engine.tick(clock.now())
    engine.acknowledge(clock.now(), "RN")
    engine.start_session(preset_for(DosingProtocol.SPRAVATO), clock.now(), "RN")
    assert only(engine, clock, HR_CONFIRM_KEY).priority is AlarmPriority.LOW


def test_only_the_responsible_organization_confirms_and_it_is_logged_with_who_and_when(engine, clock):
    engine.require_hr_confirmation(None, clock.now())
    with pytest.raises(AlarmSettingError, match="only the responsible organization"):
        engine.confirm_hr_limits(clock.now(), "RN Jansen", Role.OPERATOR)
    with pytest.raises(AlarmSettingError, match="name of the person"):
        engine.confirm_hr_limits(clock.now(), "", Role.RESPONSIBLE_ORGANIZATION)
    assert HR_CONFIRM_KEY in {c.key for c in engine.snapshot(clock.now()).conditions}
    events = engine.confirm_hr_limits(clock.now(), "Dr Vos", Role.RESPONSIBLE_ORGANIZATION, at_utc=1_900_000_000.0)
    assert kinds(events) == [("setting_changed", "hr_limits"), ("cleared", HR_CONFIRM_KEY)]
    setting = events[0]
    assert setting.user == "Dr Vos" and setting.t == clock.now()
    assert setting.data == {
        "rule": "hr_limits",
        "field": "confirmed",
        "old": None,
        "new": "Dr Vos",
        "role": "responsible_organization",
        "hr_low": 50.0,
        "hr_high": 120.0,
    }
    assert setting.message == "HR alarm limits 50–120 /min confirmed by Dr Vos"
    assert engine.hr_confirmation == {"by": "Dr Vos", "at": 1_900_000_000.0, "hr_low": 50.0, "hr_high": 120.0}
    # every later session's log says who confirmed the HR limits
    loaded = engine.start_session(preset_for(DosingProtocol.SPRAVATO), clock.now(), "RN")[0]
    assert loaded.transition is Transition.PRESET_LOADED and loaded.data["hr_limits_confirmed"]["by"] == "Dr Vos"


def test_an_engine_never_told_about_confirmation_raises_no_notice(engine, clock):
    feed(engine, clock, "spo2", 97, OXI)
    engine.tick(clock.now())
    assert engine.snapshot(clock.now()).conditions == ()


def test_core_remembers_the_confirmation_per_workstation(clock):
    config = MemoryAlarmConfig()
    core = Core(clock)
    core.alarms.attach_config(config)
    assert HR_CONFIRM_KEY in {c.key for c in core.alarms.state().conditions}
    with pytest.raises(AlarmSettingError):
        core.alarms.confirm_hr_limits("RN Jansen", Role.OPERATOR)
    assert config.hr_confirmation() is None
    events = core.alarms.confirm_hr_limits("Dr Vos", Role.RESPONSIBLE_ORGANIZATION)
    assert [e.transition for e in events] == [Transition.SETTING_CHANGED, Transition.CLEARED]
    saved = config.hr_confirmation()
    assert saved is not None and saved["by"] == "Dr Vos" and saved["hr_low"] == 50.0 and saved["at"] > 1.7e9
    assert core.alarms.state().conditions == ()
    # the next program start on this workstation: confirmed
    again = Core(clock)
    again.alarms.attach_config(config)
    assert again.alarms.state().conditions == () and again.alarms.hr_confirmation() == saved
    # without a workstation configuration there is nothing to confirm into
    with pytest.raises(AlarmSettingError, match="keeps no alarm configuration"):
        Core(clock).alarms.confirm_hr_limits("Dr Vos", Role.RESPONSIBLE_ORGANIZATION)


def test_core_refuses_a_confirmation_it_cannot_save(clock):
    class Broken(MemoryAlarmConfig):
        def save_hr_confirmation(self, confirmation):
            raise OSError("disk full")

    core = Core(clock)
    core.alarms.attach_config(Broken())
    with pytest.raises(AlarmSettingError, match="could not be saved: disk full"):
        core.alarms.confirm_hr_limits("Dr Vos", Role.RESPONSIBLE_ORGANIZATION)
    assert HR_CONFIRM_KEY in {c.key for c in core.alarms.state().conditions}
    assert core.alarms.hr_confirmation() is None


def test_core_crisis_symptoms_reach_the_engine(clock):
    core = Core(clock)
    core.start_session(Session(SessionInfo("KX-1", DosingProtocol.SPRAVATO, "RN Jansen", clock.now())))
    core.put_readings([Reading(CUFF, "nibp_sys", clock.now(), 184.0)])
    core.process_pending()
    events = core.alarms.set_crisis_symptoms({"visual_change"}, "RN Jansen")
    assert [e.transition for e in events] == [Transition.SYMPTOMS, Transition.ESCALATED]
    assert core.alarms.crisis_symptoms() == {"visual_change"}
    [c] = core.alarms.state().conditions
    assert c.priority is AlarmPriority.HIGH and c.message.endswith("refer for emergency care")


# ---- the responsible-organization PIN (requirement 24) ---------------------------------------------


def test_pin_is_stored_salted_and_hashed():
    record = hash_pin("4711", iterations=1000)
    assert "4711" not in json.dumps(record) and record["algorithm"] == "pbkdf2-sha256"
    assert verify_pin("4711", record) and not verify_pin("4712", record)
    assert hash_pin("4711", iterations=1000)["hash"] != record["hash"]  # a fresh salt each time
    assert not verify_pin("4711", {"algorithm": "md5"}) and not verify_pin("4711", {})
    with pytest.raises(AlarmSettingError, match="at least 4"):
        hash_pin("12")
