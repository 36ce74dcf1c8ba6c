"""A recorded session replayed through the real pipeline (RecordedSessionDriver → core → recorder →
a second database), with its clinical timeline replayed by the TimelinePlayer: the replayed session
must hold the same readings and raise the same alarms as the original, with the dose, the alarm-limit
change, the observation and the nurse's acknowledgement at the same session times. Everything
expected is read from the original recording, nothing is hard-coded."""

from __future__ import annotations

import math
import time

import pytest

from app.pipeline import Pipeline
from app.session_replay import SessionReplay, open_session_replay
from monitor import observations as ob
from monitor.clock import SessionClock
from monitor.events import EventKind
from monitor.session import SessionInfo
from recordings.database import open_database
from recordings.reader import RecordingReader
from tests.simulated_session import record_scenario, wait_until

pytestmark = pytest.mark.slow

#: The hypertensive responder's SBP/DBP peak ~40 min after the dose raises the BP alarms.
MINUTES_AFTER_DOSE = 42.0
#: Internal replay speed of the test (the command line offers 1-60x).
SPEED = 600.0


def _nurse_steps():
    def lower_sbp_limit(p: Pipeline, _dose_at: float) -> None:
        p.core.alarms.change_rule("sbp_high", "limit", 170.0, "RN Jansen")

    def moaas(p: Pipeline, _dose_at: float) -> None:
        p.core.record_observation(ob.moaas(p.clock.now(), "RN Jansen", 4))

    def acknowledge(p: Pipeline, _dose_at: float) -> None:
        p.core.alarms.acknowledge("RN Jansen")

    return [(3.0, lower_sbp_limit), (10.0, moaas), (41.0, acknowledge)]


@pytest.fixture(scope="module")
def source_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('source') / 'clinic.db'}"
    record_scenario(url, "hypertensive-responder", MINUTES_AFTER_DOSE, patient_id="SIM-HTN-7", seed=5, steps=_nurse_steps())
    return url


def _replay(replay: SessionReplay, speed: float) -> None:
    """What the bedside program does for --replay-session, without Qt: a live session with the
    recorded patient and protocol, the recorded devices, and the timeline stepped like the
    controller's timer does."""
    rec = replay.record
    clock = SessionClock(speed=speed)
    pipeline = Pipeline(clock, replay.target_url)
    pipeline.start()
    try:
        info = pipeline.start_session(SessionInfo(rec.patient_id, rec.protocol, rec.clinician, clock.now(), speed=speed)).info
        timeline = replay.timeline(pipeline.core, info.started)
        drivers = replay.drivers(clock, info.started)
        for d in drivers:
            pipeline.add_driver(d)
        deadline = time.monotonic() + 60
        while not timeline.done:
            assert time.monotonic() < deadline, "the replay did not reach the recorded end"
            timeline.step(clock.now())
            time.sleep(0.02)
        assert timeline.skipped == []
        wait_until(lambda: not any(d.running for d in drivers), 10)
    finally:
        pipeline.close(end_reason="replay finished")


def _alarms(reader: RecordingReader, session_id: int) -> list[tuple[str, str, str | None]]:
    """(transition, key, priority) of what the alarm engine raised, escalated and cleared, keys
    with the replay prefix of device sources taken out."""
    out = []
    for e in reader.events(session_id):
        if e.kind is EventKind.ALARM and e.data["transition"] in ("raised", "escalated", "deescalated"):
            out.append((e.data["transition"], e.data["key"].replace("replay:", ""), e.data["priority"]))
    return out


def test_replayed_session_has_the_same_readings_alarms_and_timeline(source_url, tmp_path):
    target_url = f"sqlite:///{tmp_path / 'replay.db'}"
    replay = open_session_replay("latest", source_url, target_url)
    try:
        _replay(replay, SPEED)
    finally:
        replay.close()

    src_db, dst_db = open_database(source_url), open_database(target_url)
    try:
        src, dst = RecordingReader(src_db), RecordingReader(dst_db)
        assert len(src.list_sessions()) == 1, "a replay never adds sessions to the source database"
        orig, rep = src.session("latest"), dst.session("latest")
        assert (rep.patient_id, rep.protocol, rep.clinician) == (orig.patient_id, orig.protocol, orig.clinician)
        assert orig.t0 is not None and rep.t0 is not None
        assert rep.t0 - rep.started == pytest.approx(orig.t0 - orig.started, abs=1e-3)  # the T+ clock runs as it did
        assert rep.ended is not None and orig.ended is not None
        assert rep.ended - rep.started == pytest.approx(orig.ended - orig.started, abs=2 * SPEED)  # the grace + a tick

        assert sorted(d.source for d in dst.devices(rep.id)) == sorted(f"replay:{d.source}" for d in src.devices(orig.id))
        offset = rep.started - orig.started
        want = src.readings(orig.id)
        got = dst.readings(rep.id)
        assert len(got) == len(want) > 100

        def key(r):
            return (r.source.removeprefix("replay:"), r.channel, round(r.t, 3))

        for g, w in zip(sorted(got, key=key), sorted(want, key=key), strict=True):
            assert (g.source, g.channel, g.quality, g.flags) == (f"replay:{w.source}", w.channel, w.quality, w.flags)
            assert (math.isnan(g.value) and math.isnan(w.value)) or g.value == w.value
            assert g.t - w.t == pytest.approx(offset, abs=1e-3)
        want_pleth = sum(b.n for b in src.waveforms(orig.id, ["pleth"]))
        assert sum(b.n for b in dst.waveforms(rep.id, ["pleth"])) == want_pleth > 0

        # the same alarm conditions, in the same order, with the same priorities
        orig_alarms, rep_alarms = _alarms(src, orig.id), _alarms(dst, rep.id)
        assert {k for tr, k, _ in orig_alarms if tr == "raised"} >= {"sbp_high"}
        assert rep_alarms == orig_alarms

        # the clinician's entries, at the same session times
        def entries(reader: RecordingReader, sid: int, started: float) -> list[tuple]:
            out = []
            for e in reader.events(sid):
                if e.kind is EventKind.ALARM_SETTING:
                    out.append(("setting", e.data["rule"], e.data["new"], e.data["user"], e.t - started))
                elif e.kind is EventKind.OBSERVATION:
                    out.append(("observation", e.data["obs_kind"], e.data["data"]["score"], e.data["author"], e.t - started))
                elif e.kind is EventKind.ALARM and e.data["transition"] == "acknowledged":
                    out.append(("acknowledged", e.data["key"], None, e.data["user"], e.t - started))
            return out

        want_entries, got_entries = entries(src, orig.id, orig.started), entries(dst, rep.id, rep.started)
        assert [e[:4] for e in got_entries] == [e[:4] for e in want_entries]
        assert {e[0] for e in want_entries} == {"setting", "observation", "acknowledged"}
        for g, w in zip(got_entries, want_entries, strict=True):
            # observations at their recorded time; settings and acknowledgements within a timer tick
            assert g[4] == pytest.approx(w[4], abs=1e-3 if g[0] == "observation" else SPEED * 0.5)
    finally:
        src_db.close()
        dst_db.close()
