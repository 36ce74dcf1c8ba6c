"""The TimelinePlayer (no Qt, no database): a session is "recorded" by driving one core the way a
nurse does and collecting the events it hands its recorder; a second core replays them. The entries
the replay records must be the original ones, at the same session times: nothing is hard-coded."""

from __future__ import annotations

import time

import pytest

from app import session_replay
from app.session_replay import TimelinePlayer
from monitor import observations as ob
from monitor.alarms import AlarmPriority, Inactivation, Role
from monitor.clock import FakeClock
from monitor.core import Core
from monitor.events import EventKind, SessionEvent
from monitor.session import DosingProtocol, Session, SessionInfo

T_ORIG = 1_800_000_000.0
T_REPLAY = T_ORIG + 5 * 86_400.0


class EventRecorder:
    """The recorder boundary: keeps the events the core records."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []

    def begin_session(self, info):
        return 1

    def update_session(self, info):
        pass

    def add_event(self, sid, event):
        self.events.append(event)

    submit_event = add_event

    def register_device(self, sid, info):
        pass

    def submit_readings(self, sid, readings):
        pass

    def submit_waveform(self, sid, block):
        pass


def _core(start: float) -> tuple[Core, FakeClock, EventRecorder]:
    clock = FakeClock(start=start)
    rec = EventRecorder()
    core = Core(clock, rec)
    core.start_session(Session(SessionInfo("PT-0042", DosingProtocol.KETAMINE_IV, "RN Jansen", clock.now())))
    return core, clock, rec


def _record_original() -> list[SessionEvent]:
    core, clock, rec = _core(T_ORIG)
    clock.advance(120)
    moaas = core.record_observation(ob.moaas(clock.now() - 30, "RN Jansen", 5)).observation
    clock.advance(60)
    core.mark_dose(clock.now(), user="RN Jansen")
    clock.advance(60)
    core.alarms.change_rule("sbp_high", "limit", 170.0, "RN Jansen")
    core.alarms.change_rule("sbp_high", "priority", AlarmPriority.HIGH, "Dr Berg", Role.RESPONSIBLE_ORGANIZATION)
    clock.advance(60)
    core.alarms.inactivate(Inactivation.AUDIO_PAUSED, "RN Jansen", 60.0)
    for _ in range(12):  # the pause ends by its timer: not an entry of the nurse, the replay makes it again
        clock.advance(10)
        core.process_pending()
    core.alarms.inactivate(Inactivation.ALARM_OFF, "RN Jansen")
    clock.advance(30)
    core.alarms.resume("RN Jansen")
    core.alarms.set_crisis_symptoms({"chest_pain"}, "RN Jansen")
    clock.advance(60)
    core.record_observation(ob.amendment(moaas, ob.moaas(moaas.t, "RN Kim", 4), "RN Kim", "scored the wrong column"))
    clock.advance(60)
    core.end_session("ended", user="RN Jansen")
    return rec.events


def _entries(events: list[SessionEvent], started: float) -> list[tuple]:
    """What the nurse and the prescriber did, relative to the session start, as recorded."""
    out = []
    for e in events:
        d = dict(e.data)
        if e.kind in (EventKind.OBSERVATION, EventKind.AMENDMENT):
            out.append(
                (e.kind, e.source, e.t - started, d["obs_kind"], d["data"], d["author"], d["reason"], d["amends"] is not None)
            )
        elif e.kind in (EventKind.DOSE_GIVEN, EventKind.ALARM_SETTING):
            out.append((e.kind, e.source, e.t - started, {k: v for k, v in d.items() if k != "t"}))
        elif e.kind is EventKind.ALARM:
            until = d.pop("until", None)
            out.append((e.kind, e.source, e.t - started, d, None if until is None else until - e.t))
    return out


def _replay(events: list[SessionEvent], step_s: float = 1.0) -> tuple[Core, TimelinePlayer, EventRecorder, float]:
    core, clock, rec = _core(T_REPLAY)
    started = clock.now()
    player = TimelinePlayer(core, events, started - T_ORIG)
    for _ in range(int(900 / step_s)):
        clock.advance(step_s)
        player.step(clock.now())
        core.process_pending()
    return core, player, rec, started


def test_the_replay_records_the_same_entries_at_the_same_session_times():
    original = _record_original()
    core, player, rec, started = _replay(original)
    assert player.done and player.skipped == []
    want, got = _entries(original, T_ORIG), _entries(rec.events, started)
    kinds = {w[0] for w in want}
    assert kinds == {EventKind.OBSERVATION, EventKind.AMENDMENT, EventKind.DOSE_GIVEN, EventKind.ALARM_SETTING, EventKind.ALARM}
    assert got == want
    info = core.session.info if core.session else None
    assert info is not None and info.t0 == pytest.approx(started + 180) and info.ended is not None
    # the amendment names the replayed original, which keeps its own new id
    log = core.observations
    (current,) = log.current()
    assert current.data["score"] == 4 and current.amends is not None and log.get(current.amends) is not None
    assert {o.obs_id for o in log.all()}.isdisjoint({e.data.get("obs_id") for e in original})
    assert (rule := core.alarms.preset().rule("sbp_high")).limit == 170.0 and rule.priority is AlarmPriority.HIGH
    assert core.alarms.crisis_symptoms() == frozenset({"chest_pain"})


def test_nothing_is_replayed_before_its_time():
    original = _record_original()
    core, clock, _rec = _core(T_REPLAY)
    player = TimelinePlayer(core, original, clock.now() - T_ORIG)
    clock.advance(179)
    player.step(clock.now())
    assert core.session is not None and core.session.info.t0 is None
    assert len(core.observations.all()) == 1  # the MOAA/S at 90 s
    clock.advance(1)
    player.step(clock.now())
    assert core.session.info.t0 == clock.now()


def test_a_refused_entry_is_retried_then_skipped_and_the_rest_goes_on(monkeypatch):
    original = _record_original()
    dose = next(e for e in original if e.kind is EventKind.DOSE_GIVEN)
    early = SessionEvent(EventKind.OBSERVATION, T_ORIG - 10, "user:RN Jansen", ob.moaas(T_ORIG - 10, "RN Jansen", 5).record())
    monkeypatch.setattr(session_replay, "RETRY_REAL_S", 0.05)
    core, clock, _rec = _core(T_REPLAY)
    player = TimelinePlayer(core, [early, dose], clock.now() - T_ORIG)
    clock.advance(200)
    player.step(clock.now())  # before the session started: refused, retried on the next steps
    player.step(clock.now())
    assert not player.done and player.skipped == [] and core.session is not None and core.session.info.t0 is None
    time.sleep(0.06)
    player.step(clock.now())
    assert player.done and [e for e, _why in player.skipped] == [early]
    assert "before the session started" in player.skipped[0][1]
    assert core.session is not None and core.session.info.t0 is not None


def test_a_replayed_discharge_ends_the_session_once():
    core, clock, rec = _core(T_ORIG)
    clock.advance(60)
    core.mark_dose(clock.now(), user="RN Jansen")
    clock.advance(600)
    core.record_observation(ob.discharge(clock.now(), "RN Jansen", dict.fromkeys(ob.DISCHARGE_ITEMS, True), ready_min=9))
    original = rec.events
    assert [e.kind for e in original].count(EventKind.SESSION_ENDED) == 1

    replayed_core, player, replayed, started = _replay(original)
    assert player.done and player.skipped == []
    info = replayed_core.session.info if replayed_core.session else None
    assert info is not None and info.end_reason == "discharged" and info.ended == pytest.approx(started + 660)
    assert [e.kind for e in replayed.events].count(EventKind.SESSION_ENDED) == 1
    assert _entries(replayed.events, started) == _entries(original, T_ORIG)
