"""Plausibility in one place, the core's ingest (issue 13, finding 7): a value no patient can have
is recorded INVALID with the IMPLAUSIBLE flag (value kept for review), never shown, never a
physiological alarm, and raises the LOW "implausible value" technical alarm; a cuff reading whose
diastolic is above its systolic, or whose mean lies outside them, is an artefact."""

from __future__ import annotations

import math

import pytest

from monitor.alarms import AlarmCategory, AlarmPriority, Transition
from monitor.channels import CHANNELS, implausible
from monitor.clock import FakeClock
from monitor.core import Core
from monitor.plausibility import screen
from monitor.ports import DeviceInfo
from monitor.readings import Flag, Quality, Reading
from monitor.session import DosingProtocol, Session, SessionInfo
from tests.unit.monitor.test_core import FakeRecorder, drain

OXI, CUFF = "ble:oximeter", "ble:cuff"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_800_000_000.0)


def _core(clock: FakeClock) -> tuple[Core, FakeRecorder]:
    rec = FakeRecorder()
    core = Core(clock, rec)
    core.register_device(DeviceInfo(OXI, "Bedside oximeter", "oximeter", 10.0))
    core.register_device(DeviceInfo(CUFF, "Cuff", "nibp", 390.0))
    core.start_session(Session(SessionInfo("P-0042", DosingProtocol.SPRAVATO, "RN Test", clock.now())))
    core.process_pending()
    drain(core.ui_events)
    return core, rec


def _alarm_events(core: Core) -> list:
    from monitor.alarms import AlarmEvent

    return [e for e in drain(core.ui_events) if isinstance(e, AlarmEvent)]


# ---- the ranges ----------------------------------------------------------------------------------
def test_every_numeric_channel_says_where_its_range_comes_from():
    for code, spec in CHANNELS.items():
        p = spec.plausible
        if p is None:
            continue
        assert p.low < p.high, code
        assert p.source and ("definitional" in p.source or "protocols.md" in p.source or "clinical.md" in p.source), code


@pytest.mark.parametrize(
    ("code", "value", "bad"),
    [
        ("spo2", 0.0, False),
        ("spo2", 100.0, False),
        ("spo2", 100.5, True),
        ("spo2", 1257.0, True),
        ("spo2", -5500.0, True),
        ("spo2", -0.1, True),
        ("pr", 254.0, False),
        ("pr", 255.0, True),
        ("pr", 7.2e9, True),
        ("pr", 25.0, False),  # a real bradycardia stays a number (and alarms)
        ("hr", 300.0, True),
        ("hr", -1.0, True),
        ("nibp_sys", -5.0, True),
        ("nibp_dia", 0.0, False),
        ("abp_map", -1.0, True),
        ("rr", -2.0, True),
        ("rr", 12.0, False),
        ("spo2", math.inf, True),
    ],
)
def test_range_edges(code, value, bad):
    assert (implausible(code, value) is not None) is bad


def test_a_reading_marked_implausible_keeps_its_value_for_review():
    r = Reading(OXI, "spo2", 1.0, 1257.0, Quality.INVALID, Flag.IMPLAUSIBLE)
    assert r.value == 1257.0 and not r.valid
    assert math.isnan(Reading(OXI, "spo2", 1.0, 97.0, Quality.INVALID, Flag.PROBE_OFF).value)


# ---- screening -------------------------------------------------------------------------------------
def test_out_of_range_becomes_invalid_implausible_and_keeps_the_other_flags():
    [r] = screen([Reading(OXI, "spo2", 1.0, -5500.0, Quality.QUESTIONABLE, Flag.LOW_PERFUSION)])
    assert r.quality is Quality.INVALID and r.flags == Flag.IMPLAUSIBLE | Flag.LOW_PERFUSION and r.value == -5500.0


def test_values_in_range_pass_untouched():
    readings = [Reading(OXI, "spo2", 1.0, 97.0), Reading(OXI, "pr", 1.0, 72.0), Reading.invalid(OXI, "spo2", 2.0, Flag.PROBE_OFF)]
    assert screen(readings) == readings


def _cuff(sys_: float, dia: float, mean: float | None, t: float = 5.0) -> list[Reading]:
    out = [Reading(CUFF, "nibp_sys", t, sys_), Reading(CUFF, "nibp_dia", t, dia)]
    if mean is not None:
        out.append(Reading(CUFF, "nibp_map", t, mean))
    return out


def test_diastolic_above_systolic_is_an_artefact():
    out = screen(_cuff(120, 780, 300))
    assert all(r.quality is Quality.QUESTIONABLE and r.flags & Flag.ARTEFACT for r in out)
    assert [r.value for r in out] == [120, 780, 300]  # shown marked, as a device-flagged artefact


def test_mean_outside_systolic_and_diastolic_is_an_artefact():
    assert all(r.flags & Flag.ARTEFACT for r in screen(_cuff(120, 80, 130)))
    assert all(r.flags & Flag.ARTEFACT for r in screen(_cuff(120, 80, 70)))


def test_a_coherent_cuff_reading_passes_including_the_edges():
    for reading in (_cuff(120, 80, 93), _cuff(120, 80, 120), _cuff(120, 80, 80), _cuff(120, 120, None)):
        assert screen(reading) == reading


def test_coherence_only_pairs_values_of_one_cuff_reading():
    a = [Reading(CUFF, "nibp_sys", 5.0, 120), Reading(CUFF, "nibp_dia", 6.0, 130)]  # different cycles
    b = [Reading(CUFF, "nibp_sys", 5.0, 120), Reading("other", "nibp_dia", 5.0, 130)]  # different devices
    assert screen(a) == a and screen(b) == b


def test_an_implausible_part_of_a_cuff_reading_is_not_compared():
    out = screen(_cuff(-40, 80, 60))
    assert out[0].flags == Flag.IMPLAUSIBLE and out[1].flags == Flag.NONE and out[2].flags == Flag.NONE


# ---- through the core ------------------------------------------------------------------------------
def test_desaturation_alarm_does_not_fire_on_spo2_minus_5500(clock):
    core, _ = _core(clock)
    for _ in range(40):  # far longer than any desaturation delay
        core.put_readings([Reading(OXI, "spo2", clock.advance(1.0), -5500.0)])
        core.process_pending()
    events = _alarm_events(core)
    assert not [e for e in events if e.category is AlarmCategory.PHYSIOLOGICAL]
    state = core.alarms.state()
    assert not [c for c in state.conditions if c.category is AlarmCategory.PHYSIOLOGICAL]
    [c] = [c for c in state.conditions if c.key == f"implausible:{OXI}"]
    assert c.priority is AlarmPriority.LOW and "SpO₂ -5500" in c.message and "Bedside oximeter" in c.message


def test_an_implausible_value_is_recorded_with_its_flag_and_never_shown(clock):
    core, rec = _core(clock)
    t = clock.advance(1.0)
    core.put_readings([Reading(OXI, "spo2", t, 1257.0), Reading(OXI, "pr", t, 72.0)])
    core.process_pending()
    recorded = {r.channel: r for _, r in rec.readings}
    assert recorded["spo2"].value == 1257.0 and recorded["spo2"].quality is Quality.INVALID
    assert recorded["spo2"].flags & Flag.IMPLAUSIBLE and recorded["pr"].quality is Quality.OK
    latest = core.store.latest("spo2")
    assert latest is not None and math.isnan(latest.value) and latest.flags & Flag.IMPLAUSIBLE
    _, values = core.store.series("spo2")[0][1].snapshot()
    assert math.isnan(values[-1])


def test_the_implausible_alarm_is_raised_once_and_clears_with_a_plausible_value(clock):
    core, _ = _core(clock)
    for value in (1257.0, -5500.0, 300.0):
        core.put_readings([Reading(OXI, "spo2", clock.advance(1.0), value)])
        core.process_pending()
    events = _alarm_events(core)
    raised = [e for e in events if e.transition is Transition.RAISED]
    assert [e.key for e in raised] == [f"implausible:{OXI}"]
    assert raised[0].category is AlarmCategory.TECHNICAL and raised[0].priority is AlarmPriority.LOW
    assert "1257" in raised[0].message and "0–100" in raised[0].message
    core.put_readings([Reading(OXI, "spo2", clock.advance(1.0), 97.0)])
    core.process_pending()
    cleared = [e for e in _alarm_events(core) if e.transition is Transition.CLEARED]
    assert [e.key for e in cleared] == [f"implausible:{OXI}"]


def test_a_cuff_reading_with_diastolic_above_systolic_raises_no_hypertension_alarm(clock):
    core, _ = _core(clock)
    core.put_readings(_cuff(200, 780, 300, t=clock.advance(1.0)))  # SBP 200 would be a hypertension alarm
    core.process_pending()
    events = _alarm_events(core)
    assert not [e for e in events if e.category is AlarmCategory.PHYSIOLOGICAL]
    assert [e.key for e in events if e.transition is Transition.RAISED] == [f"artefact:{CUFF}"]
