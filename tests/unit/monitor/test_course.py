"""monitor.course on a real SQLite database written through the Recorder, with figures worked out by
hand: three dosed sessions whose peak ΔSBP is 40, 30, 20 mmHg, one without a dose, one interrupted,
and another patient ("P10") who must not leak into "P1"'s course."""

from __future__ import annotations

import pytest

from monitor.course import NO_DOSE, PAGE, build_course, course_sessions
from monitor.events import EventKind, SessionEvent
from monitor.observations import Observation, amendment, cadss, moaas
from monitor.ports import DeviceInfo, SessionFilter, SessionListing
from monitor.readings import Flag, Reading
from monitor.session import DosingProtocol, SessionInfo
from recordings.database import open_database
from recordings.reader import RecordingReader
from recordings.recorder import Recorder

T = 1_800_000_000.0
DAY = 86_400.0
DOSE_AFTER_S = 300.0
CUFF = "sim:cuff"
NURSE = "Nurse Test"


def cadss_items(total: int) -> list[int]:
    """23 CADSS answers adding up to ``total``."""
    items = [4] * (total // 4) + ([total % 4] if total % 4 else [])
    return items + [0] * (23 - len(items))


def _obs(rec: Recorder, sid: int, o: Observation) -> None:
    kind = EventKind.AMENDMENT if o.amends else EventKind.OBSERVATION
    rec.add_event(sid, SessionEvent(kind, o.t, f"user:{o.author}", o.record()))


def _alarm(rec: Recorder, sid: int, t: float, key: str, priority: str) -> None:
    data = {
        "key": key,
        "priority": priority,
        "category": "physiological",
        "message": key,
        "value": 0.0,
        "limit": 0.0,
        "user": None,
    }
    rec.add_event(sid, SessionEvent(EventKind.ALARM, t, "app", {**data, "transition": "raised"}))
    rec.add_event(sid, SessionEvent(EventKind.ALARM, t + 60, "app", {**data, "transition": "cleared"}))


def _session(
    rec: Recorder,
    patient: str,
    start: float,
    *,
    dosed: bool = True,
    baseline: float | None = 120.0,
    peak: float = 160.0,
    peak_min: float = 20.0,
    cadss_total: int | None = None,
    cadss_amended_to: int | None = None,
    moaas_score: int | None = None,
    alarms: tuple[str, ...] = (),
    ended: bool = True,
    protocol: DosingProtocol = DosingProtocol.SPRAVATO,
) -> int:
    """One 60-minute session. Cuff SBP: baseline + 15 at minute 1 after the start and ``baseline`` at
    minute 4 (the last pre-dose reading, so the baseline), then after the dose baseline + 10 at +5 min,
    ``peak`` at ``peak_min``, an INVALID reading at +30 and baseline + 5 at +40."""
    t0 = start + DOSE_AFTER_S if dosed else None
    sid = rec.begin_session(SessionInfo(patient, protocol, NURSE, start, t0=t0))
    rec.register_device(sid, DeviceInfo(CUFF, "Cuff", "nibp", 900.0))
    anchor = start + DOSE_AFTER_S  # where t0 would be
    readings: list[Reading] = []
    if baseline is not None:
        readings += [Reading(CUFF, "nibp_sys", start + 60, baseline + 15), Reading(CUFF, "nibp_sys", start + 240, baseline)]
    base = 120.0 if baseline is None else baseline
    readings += [
        Reading(CUFF, "nibp_sys", anchor + 5 * 60, base + 10),
        Reading(CUFF, "nibp_sys", anchor + peak_min * 60, peak),
        Reading.invalid(CUFF, "nibp_sys", anchor + 30 * 60, Flag.PROBE_OFF),
        Reading(CUFF, "nibp_sys", anchor + 40 * 60, base + 5),
    ]
    rec.submit_readings(sid, readings)
    if cadss_total is not None:
        original = cadss(anchor + 40 * 60, NURSE, cadss_items(cadss_total))
        _obs(rec, sid, original)
        if cadss_amended_to is not None:
            fixed = cadss(anchor + 40 * 60, NURSE, cadss_items(cadss_amended_to))
            _obs(rec, sid, amendment(original, fixed, NURSE, "items entered for the wrong session"))
    if moaas_score is not None:
        _obs(rec, sid, moaas(anchor + 15 * 60, NURSE, moaas_score))
    for i, prio in enumerate(alarms):
        _alarm(rec, sid, anchor + (10 + 2 * i) * 60, f"alarm_{i}", prio)
    if ended:
        rec.update_session(SessionInfo(patient, protocol, NURSE, start, t0, start + 3600, sid, "ended"))
    return sid


def write_course(db_url: str) -> dict[str, int]:
    """Patient P1: S1-S3 dosed (ΔSBP 40/30/20, CADSS 30/20/25→10 amended, MOAA/S 3/4/—, alarms
    H+M / none / L), S4 no dose, S5 interrupted. Inserted out of order (S2 recorded first) to check
    the course sorts by start. Patient P10: one session with ΔSBP 90. Returns name -> session id."""
    db = open_database(db_url)
    rec = Recorder(db)
    rec.start()
    try:
        ids = {}
        ids["S2"] = _session(
            rec, "P1", T + 7 * DAY, baseline=125, peak=155, cadss_total=20, moaas_score=4, protocol=DosingProtocol.KETAMINE_IV
        )
        ids["S1"] = _session(rec, "P1", T, baseline=120, peak=160, cadss_total=30, moaas_score=3, alarms=("HIGH", "MEDIUM"))
        ids["P10"] = _session(rec, "P10", T + 8 * DAY, baseline=100, peak=190, cadss_total=60)
        ids["S3"] = _session(
            rec, "P1", T + 14 * DAY, baseline=130, peak=150, peak_min=25, cadss_total=25, cadss_amended_to=10, alarms=("LOW",)
        )
        ids["S4"] = _session(rec, "P1", T + 21 * DAY, dosed=False, baseline=None, peak=170)
        ids["S5"] = _session(rec, "P1", T + 28 * DAY, baseline=118, peak=138, ended=False)
        rec.flush()
        return ids
    finally:
        rec.stop()
        db.close()


@pytest.fixture(scope="module")
def course_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('course') / 'course.db'}"
    return url, write_course(url)


@pytest.fixture
def reader(course_db):
    db = open_database(course_db[0])
    yield RecordingReader(db)
    db.close()


@pytest.fixture
def course(reader):
    return build_course(reader, "P1")


def test_only_the_patients_sessions_oldest_first(course, course_db):
    ids = course_db[1]
    assert [e.session_id for e in course] == [ids[k] for k in ("S1", "S2", "S3", "S4", "S5")]
    assert [e.number for e in course] == [1, 2, 3, 4, 5]
    assert {e.info.patient_id for e in course} == {"P1"}
    assert ids["P10"] not in {e.session_id for e in course}


def test_the_other_patient_gets_only_their_own_course(reader, course_db):
    other = build_course(reader, "P10")
    assert [e.session_id for e in other] == [course_db[1]["P10"]]
    assert other[0].summary.peak_delta_sbp == pytest.approx(90)
    assert build_course(reader, "P") == [] and build_course(reader, "P100") == []


def test_attenuation_figures_per_session(course):
    s1, s2, s3, s4, _ = course
    assert [e.summary.peak_delta_sbp for e in (s1, s2, s3)] == pytest.approx([40, 30, 20])
    assert [e.baseline_sbp for e in (s1, s2, s3)] == pytest.approx([120, 125, 130])
    assert [e.summary.peak_sbp.value for e in (s1, s2, s3)] == pytest.approx([160, 155, 150])
    assert s3.summary.peak_sbp.minute == pytest.approx(25)
    # CADSS in its current version: session 3's 25 was amended to 10
    assert [e.summary.peak_cadss.value for e in (s1, s2, s3)] == pytest.approx([30, 20, 10])
    assert s1.summary.lowest_moaas.value == 3 and s2.summary.lowest_moaas.value == 4
    assert s3.summary.lowest_moaas is None and s4.summary.peak_cadss is None
    assert s1.summary.alarms_by_priority == {"HIGH": 1, "MEDIUM": 1, "LOW": 0}
    assert s2.summary.alarms_by_priority == {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    assert s3.summary.alarms_by_priority == {"HIGH": 0, "MEDIUM": 0, "LOW": 1}
    assert s2.info.protocol is DosingProtocol.KETAMINE_IV


def test_sbp_trend_is_aligned_at_t0_over_the_sessions_baseline(course):
    s1 = course[0]
    assert s1.aligned and s1.note == ""
    # readings at start+1 min, start+4 min (t0 = start+5 min), t0+5, t0+20, t0+40; the INVALID one at t0+30 left out
    assert s1.minutes.tolist() == pytest.approx([-4, -1, 5, 20, 40])
    assert s1.delta_sbp.tolist() == pytest.approx([15, 0, 10, 40, 5])
    assert course[1].delta_sbp.max() == pytest.approx(30)


def test_session_without_dose_is_kept_but_not_aligned(course):
    s4 = course[3]
    assert s4.info.t0 is None and not s4.aligned and s4.note == NO_DOSE
    assert s4.minutes.size == 0 and s4.delta_sbp.size == 0
    assert s4.summary.peak_delta_sbp is None
    assert s4.summary.peak_sbp is not None and s4.summary.peak_sbp.value == 170  # whole record, no minute
    assert not s4.interrupted


def test_interrupted_session_is_included_and_marked(course):
    s5 = course[4]
    assert s5.interrupted and s5.info.ended is None
    assert s5.aligned and s5.summary.peak_delta_sbp == pytest.approx(20)
    assert all(not e.interrupted for e in course[:4])


def test_a_prefix_or_empty_patient_id_is_refused(reader):
    for bad in ("P1*", "", "  "):
        with pytest.raises(ValueError, match="exact patient ID"):
            build_course(reader, bad)


class _LooseReader:
    """A SessionReader stand-in that pages newest first and matches patients by prefix (as a careless
    implementation might), with no readings."""

    def __init__(self, n: int) -> None:
        self.rows = [
            SessionListing(SessionInfo("P1", DosingProtocol.SPRAVATO, NURSE, T + i * DAY, session_id=i), False)
            for i in range(1, n + 1)
        ]
        self.rows.append(SessionListing(SessionInfo("P10", DosingProtocol.SPRAVATO, NURSE, T, session_id=n + 1), False))
        self.rows.sort(key=lambda s: -(s.info.session_id or 0))

    def find_sessions(self, flt: SessionFilter, offset: int, limit: int) -> list[SessionListing]:
        assert flt.patient_id is not None
        hits = [s for s in self.rows if s.info.patient_id.startswith(flt.patient_id)]
        return hits[offset : offset + limit]

    def readings(self, session_id: int, *args: object) -> list[Reading]:
        return []

    def events(self, session_id: int) -> list[SessionEvent]:
        return []


def test_every_page_is_read_and_loose_matches_are_dropped():
    fake = _LooseReader(PAGE + 3)
    infos = course_sessions(fake, "P1")  # type: ignore[arg-type]
    assert [i.session_id for i in infos] == list(range(1, PAGE + 4))
    entries = build_course(fake, "P1")  # type: ignore[arg-type]
    assert len(entries) == PAGE + 3 and not any(e.aligned for e in entries)
    assert entries[0].note == NO_DOSE


def test_progress_is_reported_before_each_session(reader):
    calls: list[tuple[int, int]] = []
    entries = build_course(reader, "P1", progress=lambda done, total: calls.append((done, total)))
    n = len(entries)
    assert n > 1 and calls == [(i, n) for i in range(n)]
