"""The Spravato / ketamine schedules on a fake clock: prompts appear and become overdue, BP repeats
while high, discharge unlocks at t0 + 120 min with the pre-completion BP; and the core's protocol
gates (pre-dose BP before t0, prescriber acknowledgement above 140/90)."""

import pytest

from monitor import observations as ob
from monitor.clock import FakeClock
from monitor.core import Core
from monitor.events import EventKind
from monitor.observations import ObservationError, ObsKind
from monitor.readings import Reading
from monitor.schedule import BpSample, CheckState, TemplateError, evaluate, load_templates, parse_template
from monitor.session import DosingProtocol, Session, SessionInfo
from tests.unit.monitor.test_core import FakeRecorder, drain

T = 1_800_000_000.0
MIN = 60.0
TEMPLATES = load_templates()


def states(status):
    return {s.checkpoint.key: s.state for s in status.checkpoints}


def session(protocol=DosingProtocol.SPRAVATO, t0=None):
    return SessionInfo("P-001", protocol, "Anna", T, t0=t0)


def test_every_template_loads_and_cites_sources():
    assert set(TEMPLATES) == set(DosingProtocol)
    for tpl in TEMPLATES.values():
        assert all(cp.source for cp in tpl.checkpoints), tpl.path
    spr = TEMPLATES[DosingProtocol.SPRAVATO]
    assert spr.min_observation_s == 120 * MIN and (spr.caution_sys, spr.caution_dia) == (140, 90)
    moaas = [cp.at_s / MIN for cp in spr.checkpoints if cp.key.startswith("moaas")]
    assert moaas == [15, 30, 45, 60, 90, 120]
    cadss = sorted((cp.pre_dose, cp.at_s / MIN) for cp in spr.checkpoints if cp.key.startswith("cadss"))
    assert cadss == [(False, 40), (False, 90), (True, 0)]
    iv = TEMPLATES[DosingProtocol.KETAMINE_IV]
    bp = [cp.at_s / MIN for cp in iv.checkpoints if cp.key.startswith("bp_") and cp.key[3:].isdigit()]
    assert bp == [10, 20, 30, 40, 55]


def test_bad_template_is_refused_with_its_name():
    with pytest.raises(TemplateError, match=r"x\.toml"):
        parse_template({"protocol": "nope"}, "x.toml")


def test_bp_t40_prompt_opens_at_35_overdue_after_45():
    tpl = TEMPLATES[DosingProtocol.SPRAVATO]
    info = session(t0=T + 10 * MIN)
    t0 = info.t0
    pre = [BpSample(T + 60, 120, 80)]
    assert states(evaluate(tpl, info, t0 + 34 * MIN, [], pre))["bp_40"] is CheckState.UPCOMING
    assert states(evaluate(tpl, info, t0 + 35 * MIN, [], pre))["bp_40"] is CheckState.DUE_NOW
    assert states(evaluate(tpl, info, t0 + 45 * MIN, [], pre))["bp_40"] is CheckState.DUE_NOW
    late = evaluate(tpl, info, t0 + 46 * MIN, [], pre)
    assert states(late)["bp_40"] is CheckState.OVERDUE
    assert late.prompts[0].state is CheckState.OVERDUE
    done = evaluate(tpl, info, t0 + 50 * MIN, [], [*pre, BpSample(t0 + 47 * MIN, 130, 85)])
    assert states(done)["bp_40"] is CheckState.DONE
    assert not any(k.startswith("bp_repeat") for k in states(done))  # below threshold: no repeat


def test_bp_repeats_every_15_min_while_high():
    tpl = TEMPLATES[DosingProtocol.SPRAVATO]
    info = session(t0=T + 10 * MIN)
    t0 = info.t0
    bps = [BpSample(T + 60, 120, 80), BpSample(t0 + 40 * MIN, 165, 95)]
    st = states(evaluate(tpl, info, t0 + 49 * MIN, [], bps))
    assert st["bp_repeat_1"] is CheckState.UPCOMING  # due at T+55, prompt from T+50
    assert states(evaluate(tpl, info, t0 + 50 * MIN, [], bps))["bp_40"] is CheckState.DONE
    assert states(evaluate(tpl, info, t0 + 51 * MIN, [], bps))["bp_repeat_1"] is CheckState.DUE_NOW
    assert states(evaluate(tpl, info, t0 + 61 * MIN, [], bps))["bp_repeat_1"] is CheckState.OVERDUE
    bps.append(BpSample(t0 + 55 * MIN, 150, 88))  # still high: another one 15 min later
    st = states(evaluate(tpl, info, t0 + 56 * MIN, [], bps))
    assert st["bp_repeat_1"] is CheckState.DONE and st["bp_repeat_2"] is CheckState.UPCOMING
    bps.append(BpSample(t0 + 70 * MIN, 132, 84))  # below 140/90: the repeats stop
    st = states(evaluate(tpl, info, t0 + 80 * MIN, [], bps))
    assert st["bp_repeat_2"] is CheckState.DONE and "bp_repeat_3" not in st


def test_moaas_and_cadss_prompts_follow_the_clock():
    tpl = TEMPLATES[DosingProtocol.SPRAVATO]
    info = session(t0=T + 10 * MIN)
    t0 = info.t0
    assert states(evaluate(tpl, session(), T, [], []))["cadss_pre"] is CheckState.DUE_NOW
    obs = [ob.moaas(t0 + 16 * MIN, "n", 4)]
    st = states(evaluate(tpl, info, t0 + 31 * MIN, obs, []))
    assert st["moaas_15"] is CheckState.DONE and st["moaas_30"] is CheckState.DUE_NOW
    assert st["cadss_pre"] is CheckState.OVERDUE  # missed before the dose
    assert states(evaluate(tpl, info, t0 + 36 * MIN, obs, []))["moaas_30"] is CheckState.OVERDUE


def test_discharge_unlocks_at_120_min_with_a_pre_completion_bp():
    tpl = TEMPLATES[DosingProtocol.SPRAVATO]
    info = session(t0=T + 10 * MIN)
    t0 = info.t0
    assert not evaluate(tpl, session(), T, [], []).discharge.allowed
    bps = [BpSample(T + 60, 120, 80)]
    d = evaluate(tpl, info, t0 + 119 * MIN, [], bps).discharge
    assert not d.allowed and d.unlock_t == t0 + 120 * MIN
    assert any("120 min" in r for r in d.reasons)
    d = evaluate(tpl, info, t0 + 120 * MIN, [], bps).discharge
    assert not d.allowed and d.reasons == ("BP before discharge is still needed",)
    bps.append(BpSample(t0 + 110 * MIN, 125, 80))
    assert not evaluate(tpl, info, t0 + 119.9 * MIN, [], bps).discharge.allowed
    assert evaluate(tpl, info, t0 + 120 * MIN, [], bps).discharge.allowed


def test_ketamine_iv_cadence():
    tpl = TEMPLATES[DosingProtocol.KETAMINE_IV]
    info = session(DosingProtocol.KETAMINE_IV, t0=T + 5 * MIN)
    t0 = info.t0
    st = states(evaluate(tpl, info, t0 + 21 * MIN, [], [BpSample(t0 + 10 * MIN, 130, 80)]))
    assert st["bp_10"] is CheckState.DONE and st["bp_20"] is CheckState.DUE_NOW and st["bp_30"] is CheckState.UPCOMING


# ---- through the core -----------------------------------------------------------------------------


@pytest.fixture
def clock():
    return FakeClock(start=T)


@pytest.fixture
def core(clock):
    rec = FakeRecorder()
    c = Core(clock, rec, templates=TEMPLATES)
    c.recorder_for_test = rec
    c.start_session(Session(session()))
    return c


def cuff(core, t, sys, dia):
    core.put_readings([Reading("sim:nibp", "nibp_sys", t, sys), Reading("sim:nibp", "nibp_dia", t, dia)])
    core.process_pending()


def test_dose_refused_without_pre_dose_bp(core, clock):
    clock.advance(60)
    with pytest.raises(ObservationError, match="pre-dose blood pressure is required"):
        core.mark_dose(user="Anna")
    d = ob.dose(clock.now(), "Anna", drug="esketamine", route="intranasal", dose_mg=28, lot="L1", device=1)
    with pytest.raises(ObservationError, match="pre-dose blood pressure"):
        core.record_observation(d)
    assert core.session.info.t0 is None and len(core.observations) == 0
    assert not [e for _, e in core.recorder_for_test.events if e.kind is EventKind.OBSERVATION]
    cuff(core, clock.now(), 122, 78)
    res = core.record_observation(d)
    assert core.session.info.t0 == d.t and res.warnings == ()


def test_manual_bp_satisfies_the_gate_and_becomes_a_reading(core, clock):
    clock.advance(30)
    core.record_observation(ob.manual_vitals(clock.now() - 10, "Anna", {"nibp_sys": 118, "nibp_dia": 76, "hr": 70}))
    core.process_pending()
    r = core.store.latest("nibp_sys")
    assert r is not None and r.source == "manual" and r.value == 118
    assert "manual" in {s for _, s in core.recorder_for_test.devices}
    core.mark_dose(user="Anna")
    assert core.session.info.t0 == clock.now()


def test_high_pre_dose_bp_needs_prescriber_acknowledgement(core, clock):
    clock.advance(30)
    cuff(core, clock.now(), 152, 96)
    with pytest.raises(ObservationError, match="152/96 is above 140/90: a prescriber must acknowledge"):
        core.mark_dose(user="Anna")
    clock.advance(30)
    ack = core.record_observation(ob.bp_caution_ack(clock.now(), "Dr Berg", 152, 96)).observation
    assert ack.author == "Dr Berg"
    core.mark_dose(user="Anna")
    assert core.session.info.t0 is not None


def test_spravato_devices_under_5_min_apart_warn(core, clock):
    cuff(core, clock.now(), 120, 80)
    clock.advance(60)
    core.record_observation(ob.dose(clock.now(), "Anna", drug="esketamine", route="intranasal", dose_mg=28, lot="L1", device=1))
    clock.advance(120)
    res = core.record_observation(
        ob.dose(clock.now(), "Anna", drug="esketamine", route="intranasal", dose_mg=28, lot="L1", device=2)
    )
    assert res.warnings and "5 min" in res.warnings[0]
    assert res.observation.data["warnings"] == list(res.warnings)
    assert core.session.info.t0 == T + 60  # the first device set t0, the second does not move it


def test_future_and_pre_session_observations_refused(core, clock):
    with pytest.raises(ObservationError, match="future"):
        core.record_observation(ob.moaas(clock.now() + 600, "Anna", 5))
    with pytest.raises(ObservationError, match="before the session"):
        core.record_observation(ob.moaas(T - 1, "Anna", 5))
    assert len(core.observations) == 0


def test_observation_committed_before_shown_and_moaas_alarms(core, clock):
    events = core.recorder_for_test.events
    drain(core.ui_events)
    obs = core.record_observation(ob.moaas(clock.now(), "Anna", 1)).observation
    committed = [e for _, e in events if e.kind is EventKind.OBSERVATION]
    assert committed and committed[-1].data["obs_id"] == obs.obs_id
    shown = [e for e in drain(core.ui_events) if getattr(e, "kind", None) is EventKind.OBSERVATION]
    assert shown and shown[0].data["author"] == "Anna"


def test_failed_commit_stores_and_shows_nothing(core, clock):
    from monitor.errors import StorageError

    def fail(sid, event):
        raise StorageError("disk full")

    core.recorder_for_test.add_event = fail
    drain(core.ui_events)
    with pytest.raises(StorageError):
        core.record_observation(ob.note(clock.now(), "Anna", "patient calm"))
    assert len(core.observations) == 0
    assert not [e for e in drain(core.ui_events) if getattr(e, "kind", None) is EventKind.OBSERVATION]


def test_amendment_references_original_and_cadss_baseline(core, clock):
    pre = core.record_observation(ob.cadss(clock.now(), "Anna", [0] * 23)).observation
    cuff(core, clock.now(), 120, 80)
    clock.advance(60)
    core.mark_dose(user="Anna")
    clock.advance(40 * MIN)
    c40 = core.record_observation(ob.cadss(clock.now(), "Anna", [1] * 5 + [0] * 18)).observation
    assert c40.data["baseline_total"] == 0 and c40.data["dissociation"]
    fix = ob.amendment(pre, ob.cadss(pre.t, "Anna", [1] * 6 + [0] * 17), "Bob", "entered the wrong sheet")
    res = core.record_observation(fix)
    assert res.observation.amends == pre.obs_id
    kinds = [e.kind for _, e in core.recorder_for_test.events if e.kind in (EventKind.OBSERVATION, EventKind.AMENDMENT)]
    assert kinds == [EventKind.OBSERVATION, EventKind.OBSERVATION, EventKind.AMENDMENT]
    assert [o.obs_id for o in core.observations.all()][:2] == [pre.obs_id, c40.obs_id]  # original still there
    again = ob.amendment(res.observation, ob.cadss(pre.t, "Anna", [0] * 23), "Cleo", "back to the original")
    assert core.record_observation(again).observation.amends == pre.obs_id  # always the root


def test_discharge_refused_before_120_min_then_ends_session(core, clock):
    cuff(core, clock.now(), 120, 80)
    core.mark_dose(user="Anna")
    checklist = dict.fromkeys(ob.DISCHARGE_ITEMS, True)
    clock.advance(119 * MIN)
    cuff(core, clock.now(), 124, 80)
    with pytest.raises(ObservationError, match=r"not allowed yet.*120 min"):
        core.record_observation(ob.discharge(clock.now(), "Anna", checklist))
    clock.advance(MIN)
    assert core.schedule_status().discharge.allowed
    core.record_observation(ob.discharge(clock.now(), "Anna", checklist, ready_min=90))
    assert core.session.info.end_reason == "discharged"
    assert [o.kind for o in core.observations.all()] == [ObsKind.DISCHARGE]


def test_core_raises_and_clears_the_overdue_bp_notice_without_a_widget(core, clock):
    """Requirement 3: the core's clock tick (not a repainting widget) notices an overdue BP checkpoint."""
    events = core.recorder_for_test.events

    def notices():
        return [e.data for _, e in events if e.kind is EventKind.TECHNICAL_NOTICE and e.data["key"] == "checkpoint:bp_40"]

    cuff(core, clock.now(), 120, 80)
    core.mark_dose(user="Anna")
    clock.advance(35 * MIN)
    core.process_pending()
    assert notices() == []
    clock.advance(11 * MIN)
    core.process_pending()
    core.process_pending()
    (raised,) = notices()
    assert raised["key"] == "checkpoint:bp_40" and raised["active"] and "overdue" in raised["message"]
    cuff(core, clock.now(), 132, 84)
    core.process_pending()
    last = notices()[-1]
    assert len(notices()) == 2 and last["key"] == "checkpoint:bp_40" and not last["active"]
