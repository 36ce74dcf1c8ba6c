"""Alarm engine: every rule type, delays, hysteresis, latching, inactivation states, priority
ordering and reminders, all on a FakeClock (time only moves when the test moves it)."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest

from monitor.alarms import (
    AlarmCategory,
    AlarmEngine,
    AlarmPriority,
    AlarmSettingError,
    ConditionState,
    Inactivation,
    Role,
    Transition,
    preset_for,
    preset_table,
)
from monitor.alarms.engine import AUDIO_NOTICE_KEY
from monitor.clock import FakeClock
from monitor.events import NoticeLevel, TechnicalNotice
from monitor.readings import DeviceStatus, Flag, LinkState, Quality, Reading
from monitor.session import DosingProtocol

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


def feed(engine: AlarmEngine, clock: FakeClock, channel: str, value: float, source: str = OXI, dt: float = 1.0, **kw):
    clock.advance(dt)
    r = Reading(source, channel, clock.now(), value, **kw)
    return engine.on_readings([r], clock.now())


def kinds(events) -> list[tuple[str, str]]:
    return [(e.transition.value, e.key) for e in events]


def only(engine: AlarmEngine, clock: FakeClock, key: str):
    [c] = [c for c in engine.snapshot(clock.now()).conditions if c.key == key]
    return c


# ---- limit rules -----------------------------------------------------------------------------------


def test_sbp_at_or_above_180_raises_medium_naming_value_and_limit(engine, clock):
    assert feed(engine, clock, "nibp_sys", 179, CUFF) == []
    events = feed(engine, clock, "nibp_sys", 186, CUFF)
    assert kinds(events) == [("raised", "sbp_high")]
    e = events[0]
    assert e.priority is AlarmPriority.MEDIUM and e.category is AlarmCategory.PHYSIOLOGICAL
    assert e.message == "SBP 186 ≥ 180" and e.value == 186 and e.limit == 180
    assert engine.snapshot(clock.now()).by_channel()["nibp_sys"].key == "sbp_high"
    assert kinds(feed(engine, clock, "nibp_sys", 150, CUFF)) == [("cleared", "sbp_high")]


def test_dbp_110_and_hr_limits(engine, clock):
    assert kinds(feed(engine, clock, "nibp_dia", 110, CUFF)) == [("raised", "dbp_high")]
    assert kinds(feed(engine, clock, "pr", 121)) == [("raised", "hr_high")]
    assert feed(engine, clock, "pr", 120)[0].transition is Transition.CLEARED  # 120 is inside 50-120
    assert kinds(feed(engine, clock, "hr", 49, "sim:ecg")) == [("raised", "hr_low")]
    assert only(engine, clock, "hr_low").message == "HR 49 < 50"


def test_spo2_below_93_needs_two_consecutive_updates(engine, clock):
    assert feed(engine, clock, "spo2", 92) == []
    assert feed(engine, clock, "spo2", 94) == []  # the run is broken
    assert feed(engine, clock, "spo2", 92) == []
    events = feed(engine, clock, "spo2", 92)
    assert kinds(events) == [("raised", "spo2_low")] and events[0].priority is AlarmPriority.MEDIUM


def test_spo2_escalates_medium_to_high_then_latches_until_acknowledged(engine, clock):
    feed(engine, clock, "spo2", 92)
    feed(engine, clock, "spo2", 92)
    events = feed(engine, clock, "spo2", 90)
    assert kinds(events) == [("escalated", "spo2_low")] and events[0].priority is AlarmPriority.HIGH
    assert events[0].message == "SpO₂ 90 ≤ 90"
    # back to 92: the HIGH rule ended but latches; the condition stays HIGH and present (MEDIUM rule)
    assert feed(engine, clock, "spo2", 92) == [] or True
    assert only(engine, clock, "spo2_low").priority is AlarmPriority.HIGH
    # recovered completely: latched, still signalling
    events = feed(engine, clock, "spo2", 97)
    assert kinds(events) == [("latched", "spo2_low")]
    c = only(engine, clock, "spo2_low")
    assert c.state is ConditionState.LATCHED and c.audible and c.priority is AlarmPriority.HIGH
    events = engine.acknowledge(clock.now(), "RN Jansen")
    assert kinds(events) == [("acknowledged", "spo2_low"), ("cleared", "spo2_low")]
    assert events[0].user == "RN Jansen"
    assert engine.snapshot(clock.now()).conditions == ()


def test_non_latching_clears_by_itself(engine, clock):
    feed(engine, clock, "nibp_sys", 190, CUFF)
    assert kinds(feed(engine, clock, "nibp_sys", 170, CUFF)) == [("cleared", "sbp_high")]


def test_condition_delay(engine, clock):
    engine.change_rule("sbp_high", "delay_s", 20.0, clock.now(), "Dr Admin", Role.RESPONSIBLE_ORGANIZATION)
    assert feed(engine, clock, "nibp_sys", 185, CUFF) == []
    clock.advance(10)
    assert engine.tick(clock.now()) == []
    clock.advance(10)
    assert kinds(engine.tick(clock.now())) == [("raised", "sbp_high")]


def test_condition_delay_cancelled_when_the_value_recovers(engine, clock):
    engine.change_rule("hr_high", "delay_s", 10.0, clock.now(), "Dr Admin", Role.RESPONSIBLE_ORGANIZATION)
    for _ in range(5):
        assert feed(engine, clock, "pr", 130) == []
    feed(engine, clock, "pr", 100)
    clock.advance(30)
    assert [e for e in engine.tick(clock.now()) if e.key == "hr_high"] == []


def test_hysteresis(engine, clock):
    engine.change_rule("hr_high", "hysteresis", 5.0, clock.now(), "Dr Admin", Role.RESPONSIBLE_ORGANIZATION)
    assert kinds(feed(engine, clock, "pr", 125)) == [("raised", "hr_high")]
    assert feed(engine, clock, "pr", 118) == []  # inside the limit but not by 5: still active
    assert only(engine, clock, "hr_high").message == "PR 118 > 120"
    assert kinds(feed(engine, clock, "pr", 115)) == [("cleared", "hr_high")]


def test_baseline_rule_uses_the_pre_dose_reading(engine, clock):
    with pytest.raises(AlarmSettingError, match="no pre-dose baseline for SBP"):
        engine.check_change("sbp_rise_mmhg", "limit", 40.0, Role.OPERATOR)
    feed(engine, clock, "nibp_sys", 130, CUFF)
    feed(engine, clock, "nibp_sys", 136, CUFF)
    engine.set_t0(clock.now())
    assert engine.baseline["nibp_sys"] == 136
    events = engine.change_rule("sbp_rise_mmhg", "limit", 40.0, clock.now(), "RN Jansen")
    assert events[0].transition is Transition.SETTING_CHANGED
    assert events[0].data == {"rule": "sbp_rise_mmhg", "field": "limit", "old": None, "new": 40.0, "role": "operator"}
    assert feed(engine, clock, "nibp_sys", 176, CUFF) == []
    events = feed(engine, clock, "nibp_sys", 177, CUFF)
    assert kinds(events) == [("raised", "sbp_rise")]
    assert events[0].message == "SBP 177 > 176 (baseline 136 + 40)"


def test_baseline_percent_rule_and_numeric_median_baseline(engine, clock):
    for v in (70, 72, 74):
        feed(engine, clock, "pr", v)
    engine.set_t0(clock.now())
    assert engine.baseline["pr"] == 72
    feed(engine, clock, "nibp_sys", 100, CUFF)  # after t0: no baseline for SBP
    with pytest.raises(AlarmSettingError, match="no pre-dose baseline"):
        engine.change_rule("sbp_rise_pct", "limit", 30.0, clock.now(), "RN Jansen")


def test_artefact_and_probe_off_never_raise_physiological_but_raise_technical(engine, clock):
    events = feed(engine, clock, "spo2", 62, quality=Quality.QUESTIONABLE, flags=Flag.ARTEFACT)
    events += feed(engine, clock, "spo2", 60, quality=Quality.QUESTIONABLE, flags=Flag.ARTEFACT)
    assert kinds(events) == [("raised", "artefact:sim:oximeter")]
    assert events[0].category is AlarmCategory.TECHNICAL and events[0].priority is AlarmPriority.LOW
    assert "implausible SpO₂ 62" in events[0].message
    clock.advance(1)
    events = engine.on_readings([Reading.invalid(OXI, "spo2", clock.now(), Flag.PROBE_OFF)], clock.now())
    assert kinds(events) == [("cleared", "artefact:sim:oximeter"), ("raised", "sensor_off:sim:oximeter")]
    assert "sensor off" in events[1].message
    assert kinds(feed(engine, clock, "spo2", 97)) == [("cleared", "sensor_off:sim:oximeter")]


def test_device_lost_and_back(engine, clock):
    events = engine.on_status(DeviceStatus(OXI, LinkState.LOST, clock.now(), "port vanished"))
    assert kinds(events) == [("raised", "link:sim:oximeter")]
    assert events[0].message == "Oximeter lost: port vanished" and events[0].priority is AlarmPriority.MEDIUM
    assert kinds(engine.on_status(DeviceStatus(OXI, LinkState.STREAMING, clock.now()))) == [("cleared", "link:sim:oximeter")]


def test_stale_numeric_channel_after_30_s_and_overdue_cuff(engine, clock):
    feed(engine, clock, "spo2", 97)
    feed(engine, clock, "nibp_sys", 120, CUFF, dt=0)
    clock.advance(30)
    assert engine.tick(clock.now()) == []
    clock.advance(0.5)
    events = engine.tick(clock.now())
    assert kinds(events) == [("raised", "stale:spo2")] and events[0].priority is AlarmPriority.MEDIUM
    clock.advance(390)
    events = engine.tick(clock.now())
    assert kinds(events) == [("raised", "stale:nibp")] and events[0].priority is AlarmPriority.LOW
    assert kinds(feed(engine, clock, "nibp_sys", 121, CUFF, dt=0)) == [("cleared", "stale:nibp")]


def test_stale_is_not_doubled_while_the_link_is_down_nor_after_a_deliberate_stop(engine, clock):
    feed(engine, clock, "spo2", 97)
    engine.on_status(DeviceStatus(OXI, LinkState.NO_DATA, clock.now()))
    clock.advance(60)
    assert engine.tick(clock.now()) == []
    engine.on_status(DeviceStatus(OXI, LinkState.STOPPED, clock.now()))
    clock.advance(60)
    assert engine.tick(clock.now()) == []
    assert engine.snapshot(clock.now()).conditions == ()


def test_recorder_failing_and_audio_unavailable_notices(engine, clock):
    events = engine.on_notice(TechnicalNotice("recorder", "Recording is failing: disk full", NoticeLevel.CRITICAL, clock.now()))
    assert kinds(events) == [("raised", "notice:recorder")]
    events = engine.on_notice(TechnicalNotice(AUDIO_NOTICE_KEY, "Alarm sound unavailable", NoticeLevel.CRITICAL, clock.now()))
    assert kinds(events) == [("raised", "notice:alarm-audio")]
    events = engine.on_notice(TechnicalNotice("recorder", "works again", NoticeLevel.INFO, clock.now(), active=False))
    assert kinds(events) == [("cleared", "notice:recorder")]
    assert engine.on_notice(TechnicalNotice("device:x", "whatever", NoticeLevel.CRITICAL, clock.now())) == []


def test_moaas_observation_hook(engine, clock):
    events = engine.observe("moaas", 3, clock.now())
    assert kinds(events) == [("raised", "moaas_low")] and events[0].priority is AlarmPriority.MEDIUM
    events = engine.observe("moaas", 1, clock.now())
    assert kinds(events) == [("escalated", "moaas_low")] and events[0].message == "MOAA/S 1 ≤ 1"


# ---- priority ordering and sound --------------------------------------------------------------------


def test_conditions_ordered_by_priority_and_only_the_highest_drives_the_sound(engine, clock):
    feed(engine, clock, "nibp_sys", 190, CUFF)  # MEDIUM
    feed(engine, clock, "pr", 240, quality=Quality.QUESTIONABLE, flags=Flag.ARTEFACT)  # LOW technical
    feed(engine, clock, "spo2", 88)  # HIGH
    state = engine.snapshot(clock.now())
    assert [c.priority for c in state.conditions] == [AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.LOW]
    assert state.audio is AlarmPriority.HIGH and state.highest.key == "spo2_low"
    engine.acknowledge(clock.now(), "RN", key="spo2_low")
    assert engine.snapshot(clock.now()).audio is AlarmPriority.MEDIUM


def test_physiological_first_among_equal_priorities(engine, clock):
    engine.on_notice(TechnicalNotice(AUDIO_NOTICE_KEY, "no sound", NoticeLevel.CRITICAL, clock.now()))
    feed(engine, clock, "nibp_sys", 186, CUFF)
    assert engine.snapshot(clock.now()).highest.message == "SBP 186 ≥ 180"


def test_acknowledged_condition_is_silent_until_it_escalates(engine, clock):
    feed(engine, clock, "spo2", 92)
    feed(engine, clock, "spo2", 92)
    engine.acknowledge(clock.now(), "RN")
    c = only(engine, clock, "spo2_low")
    assert c.state is ConditionState.ACKNOWLEDGED and not c.audible and c.visible
    assert engine.acknowledge(clock.now(), "RN") == []  # nothing new to acknowledge
    feed(engine, clock, "spo2", 89)
    c = only(engine, clock, "spo2_low")
    assert c.state is ConditionState.ACTIVE and c.audible and c.priority is AlarmPriority.HIGH


# ---- inactivation states ----------------------------------------------------------------------------


def test_audio_paused_120_s_then_resumes(engine, clock):
    feed(engine, clock, "nibp_sys", 186, CUFF)
    events = engine.inactivate(Inactivation.AUDIO_PAUSED, clock.now(), "RN")
    assert events[0].transition is Transition.PAUSED and events[0].data["until"] == clock.now() + 120
    state = engine.snapshot(clock.now())
    assert state.audio is None and state.visual is AlarmPriority.MEDIUM and state.remaining_s(clock.now()) == 120
    clock.advance(119.9)
    assert engine.tick(clock.now()) == []
    assert engine.snapshot(clock.now()).remaining_s(clock.now()) == pytest.approx(0.1)
    clock.advance(0.1)
    events = engine.tick(clock.now())
    assert [e.transition for e in events] == [Transition.RESUMED] and events[0].data["reason"] == "timer"
    assert engine.snapshot(clock.now()).audio is AlarmPriority.MEDIUM


def test_new_higher_priority_condition_sounds_during_audio_pause_but_not_an_equal_one(engine, clock):
    feed(engine, clock, "nibp_sys", 186, CUFF)  # MEDIUM
    engine.inactivate(Inactivation.AUDIO_PAUSED, clock.now(), "RN")
    feed(engine, clock, "pr", 130)  # another MEDIUM: stays paused
    assert engine.snapshot(clock.now()).audio is None
    feed(engine, clock, "spo2", 88)  # HIGH: breaks through
    state = engine.snapshot(clock.now())
    assert state.audio is AlarmPriority.HIGH and state.inactivation is Inactivation.AUDIO_PAUSED


def test_alarm_paused_hides_visual_too(engine, clock):
    feed(engine, clock, "nibp_sys", 186, CUFF)
    engine.inactivate(Inactivation.ALARM_PAUSED, clock.now(), "RN", duration_s=60)
    state = engine.snapshot(clock.now())
    assert state.audio is None and state.visual is None and state.highest is None
    assert state.conditions[0].key == "sbp_high"  # still listed (and logged)
    clock.advance(60)
    engine.tick(clock.now())
    assert engine.snapshot(clock.now()).visual is AlarmPriority.MEDIUM


@pytest.mark.parametrize("state", [Inactivation.AUDIO_OFF, Inactivation.ALARM_OFF])
def test_off_states_last_until_resumed_and_remind(engine, clock, state):
    feed(engine, clock, "nibp_sys", 186, CUFF)
    engine.inactivate(state, clock.now(), "RN")
    feed(engine, clock, "spo2", 85, dt=0)  # nothing breaks through an OFF state
    snap = engine.snapshot(clock.now())
    assert snap.audio is None and snap.inactivation is state and snap.inactivation_until is None
    assert (snap.visual is None) == (state is Inactivation.ALARM_OFF)
    reminders = []
    for _ in range(600):
        clock.advance(1)
        reminders += [e.t for e in engine.tick(clock.now()) if e.transition is Transition.REMINDER]
    interval = engine.preset.reminder_interval_s
    assert len(reminders) == 5 and all(b - a == pytest.approx(interval) for a, b in itertools.pairwise(reminders))
    events = engine.resume(clock.now(), "RN")
    assert events[0].transition is Transition.RESUMED and events[0].user == "RN"
    assert engine.snapshot(clock.now()).audio is AlarmPriority.HIGH


def test_switching_inactivation_states_and_bad_duration(engine, clock):
    engine.inactivate(Inactivation.AUDIO_PAUSED, clock.now(), "RN")
    events = engine.inactivate(Inactivation.AUDIO_OFF, clock.now(), "RN")
    assert events[0].data["previous"] == "audio paused" and engine.inactivation is Inactivation.AUDIO_OFF
    with pytest.raises(AlarmSettingError):
        engine.inactivate(Inactivation.AUDIO_PAUSED, clock.now(), "RN", duration_s=-5)
    assert engine.resume(clock.now(), "RN")[0].transition is Transition.RESUMED
    assert engine.resume(clock.now(), "RN") == []


# ---- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "field", "value", "role", "why"),
    [
        ("hr_low", "limit", 130.0, Role.OPERATOR, "low limit 130 must be below the high limit 120"),
        ("hr_high", "limit", 40.0, Role.OPERATOR, "high limit 40 must be above the low limit 50"),
        ("spo2_at_or_below_90", "limit", 120.0, Role.OPERATOR, "outside the display range of SpO₂ \\(50–100\\)"),
        ("sbp_high", "limit", float("nan"), Role.OPERATOR, "must be a number"),
        ("sbp_high", "limit", "high", Role.OPERATOR, "must be a number"),
        ("sbp_high", "limit", None, Role.OPERATOR, "only the responsible organization may switch"),
        ("sbp_high", "latching", True, Role.OPERATOR, "only the responsible organization"),
        ("sbp_high", "priority", "HIGH", Role.RESPONSIBLE_ORGANIZATION, "HIGH, MEDIUM or LOW"),
        ("sbp_high", "consecutive", 0, Role.RESPONSIBLE_ORGANIZATION, "whole number"),
        ("sbp_high", "delay_s", -1.0, Role.RESPONSIBLE_ORGANIZATION, "number ≥ 0"),
        ("sbp_high", "colour", 1, Role.RESPONSIBLE_ORGANIZATION, "not an alarm setting"),
        ("nope", "limit", 1.0, Role.OPERATOR, "no alarm rule"),
    ],
)
def test_nonsense_settings_are_refused_saying_why(engine, rule, field, value, role, why):
    with pytest.raises(AlarmSettingError, match=why):
        engine.check_change(rule, field, value, role)


def test_limit_change_applies_at_once_and_is_recorded_with_who_old_new(engine, clock):
    feed(engine, clock, "nibp_sys", 175, CUFF)
    events = engine.change_rule("sbp_high", "limit", 170.0, clock.now(), "RN Jansen")
    assert kinds(events) == [("setting_changed", "sbp_high"), ("raised", "sbp_high")]
    setting = events[0]
    assert setting.user == "RN Jansen" and setting.t == clock.now()
    assert setting.data["old"] == 180.0 and setting.data["new"] == 170.0
    assert engine.preset.rule("sbp_high").limit == 170.0
    with pytest.raises(AlarmSettingError, match="name of the person"):
        engine.change_rule("sbp_high", "limit", 175.0, clock.now(), " ")


def test_responsible_organization_changes_priority_and_latching(engine, clock):
    engine.change_rule("sbp_high", "priority", AlarmPriority.HIGH, clock.now(), "Dr A", Role.RESPONSIBLE_ORGANIZATION)
    engine.change_rule("sbp_high", "latching", True, clock.now(), "Dr A", Role.RESPONSIBLE_ORGANIZATION)
    feed(engine, clock, "nibp_sys", 200, CUFF)
    feed(engine, clock, "nibp_sys", 120, CUFF)
    c = only(engine, clock, "sbp_high")
    assert c.priority is AlarmPriority.HIGH and c.state is ConditionState.LATCHED
    events = engine.change_rule("sbp_high", "limit", None, clock.now(), "Dr A", Role.RESPONSIBLE_ORGANIZATION)
    assert events[0].data["new"] is None


def test_new_session_forgets_physiological_conditions_not_technical(engine, clock):
    feed(engine, clock, "nibp_sys", 200, CUFF)
    engine.on_status(DeviceStatus(OXI, LinkState.LOST, clock.now()))
    engine.inactivate(Inactivation.AUDIO_OFF, clock.now(), "RN")
    events = engine.start_session(preset_for(DosingProtocol.KETAMINE_IV), clock.now(), "RN")
    assert [e.transition for e in events] == [Transition.CLEARED, Transition.RESUMED, Transition.PRESET_LOADED, Transition.RAISED]
    assert events[-1].key == "link:sim:oximeter" and events[-1].data["reason"] == "present at session start"
    state = engine.snapshot(clock.now())
    assert [c.key for c in state.conditions] == ["link:sim:oximeter"] and state.preset == "Ketamine IV"


def test_preset_table_has_a_source_for_every_default():
    for protocol in DosingProtocol:
        rows = preset_table(preset_for(protocol))
        assert rows and all(row["source"] for row in rows)
    table = {row["rule"]: row for row in preset_table(preset_for(None))}
    assert table["spo2_below_93"]["consecutive"] == 2 and table["spo2_at_or_below_90"]["latching"] is True
    assert table["sbp_rise_mmhg"]["limit"] is None  # no sourced number: off until the clinic sets it


def test_event_record_is_plain_json():
    import json

    from monitor.alarms import AlarmEvent

    e = AlarmEvent(
        Transition.RAISED, 1.0, "k", AlarmPriority.HIGH, AlarmCategory.PHYSIOLOGICAL, "m", math.nan, 90.0, "", {"x": 1}
    )
    rec = e.record()
    assert rec["value"] is None and rec["priority"] == "HIGH" and rec["x"] == 1
    json.dumps(rec, allow_nan=False)
    assert replace(e, value=3.0).record()["value"] == 3.0
