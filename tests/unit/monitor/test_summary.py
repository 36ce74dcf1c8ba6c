"""monitor.summary on hand-made data with answers worked out by hand."""

from __future__ import annotations

import math

import pytest

from monitor import observations as obs
from monitor.events import EventKind, SessionEvent
from monitor.readings import Flag, Reading
from monitor.session import DosingProtocol, SessionInfo
from monitor.summary import alarm_counts, summarize, time_below

T = 1_800_000_000.0  # session start
T0 = T + 300.0  # dose 5 min in
OX = "sim:oximeter"
CUFF = "sim:cuff"


def info(t0: float | None = T0, ended: float | None = None) -> SessionInfo:
    return SessionInfo("PT-001", DosingProtocol.SPRAVATO, "Nurse", T, t0, ended)


def spo2(t: float, v: float) -> Reading:
    return Reading(OX, "spo2", t, v)


def cuff(t: float, sys: float, dia: float) -> list[Reading]:
    return [Reading(CUFF, "nibp_sys", t, sys), Reading(CUFF, "nibp_dia", t, dia)]


def alarm(t: float, transition: str, key: str, priority: str | None) -> SessionEvent:
    return SessionEvent(EventKind.ALARM, t, "alarm", {"transition": transition, "key": key, "priority": priority})


def test_no_readings_no_dose_gives_empty_summary():
    s = summarize(info(t0=None), [])
    assert s.baseline == {} and s.peak_sbp is None and s.min_spo2 is None
    assert s.spo2_below_93_min is None and s.observation_min is None
    assert s.alarms_by_priority == {"HIGH": 0, "MEDIUM": 0, "LOW": 0}
    assert s.gaps == {}


def test_without_dose_peaks_cover_the_whole_record_and_carry_no_minute():
    rs = cuff(T + 10, 120, 80) + cuff(T + 400, 150, 95)
    s = summarize(info(t0=None), rs)
    assert s.peak_sbp is not None and s.peak_sbp.value == 150 and s.peak_sbp.minute is None
    assert s.baseline == {} and s.peak_delta_sbp is None


def test_baseline_is_last_cuff_and_median_of_last_minute():
    rs = cuff(T + 10, 150, 99) + cuff(T + 200, 128, 84)
    rs += [Reading(OX, "pr", T0 - 100, 200.0)]  # outside the 60 s window
    rs += [Reading(OX, "pr", T0 - 60 + i * 10, v) for i, v in enumerate([70, 72, 71, 140, 73, 74])]  # one artefact
    rs += [Reading.invalid(OX, "spo2", T0 - 5, Flag.PROBE_OFF)]
    rs += cuff(T0 + 60 * 40, 171, 101)
    s = summarize(info(), rs)
    assert s.baseline["nibp_sys"] == 128 and s.baseline["nibp_dia"] == 84
    assert s.baseline["pr"] == pytest.approx(72.5)
    assert "spo2" not in s.baseline  # only an invalid reading before t0
    assert s.peak_sbp.value == 171 and s.peak_sbp.minute == pytest.approx(40.0)
    assert s.peak_delta_sbp == 43


def test_peaks_are_post_dose_and_earliest_occurrence():
    rs = cuff(T + 100, 190, 120)  # pre-dose: not a post-dose peak
    rs += cuff(T0 + 600, 160, 100) + cuff(T0 + 1200, 160, 104)
    rs += [Reading(OX, "pr", T0 + 30, 90.0), Reading(OX, "pr", T0 + 90, 95.0)]
    s = summarize(info(), rs)
    assert (s.peak_sbp.value, s.peak_sbp.minute) == (160, pytest.approx(10.0))
    assert (s.peak_dbp.value, s.peak_dbp.minute) == (104, pytest.approx(20.0))
    assert (s.peak_hr.value, s.peak_hr.minute) == (95, pytest.approx(1.5))


def test_time_below_is_time_weighted_and_excludes_gaps():
    # 1 Hz: 10 s at 92 %, 5 s at 90 %, a 100 s silence after a 89 % sample, then 3 invalid, then 95
    rs = [spo2(T0 + i, 92.0) for i in range(10)]
    rs += [spo2(T0 + 10 + i, 90.0) for i in range(5)]
    rs += [spo2(T0 + 15, 89.0)]
    rs += [Reading.invalid(OX, "spo2", T0 + 115 + i, Flag.PROBE_OFF) for i in range(3)]
    rs += [spo2(T0 + 118 + i, 95.0) for i in range(5)]
    s = summarize(info(), rs, max_hold_s=5.0)
    # below 93: 15 s of 1 Hz samples + the 89 % sample held at most 5 s
    assert s.spo2_below_93_min == pytest.approx(20 / 60)
    assert s.spo2_at_or_below_90_min == pytest.approx(10 / 60)
    assert s.min_spo2.value == 89.0 and s.min_spo2.minute == pytest.approx(0.25)


def test_time_below_threshold_strictness():
    rs = [spo2(T0 + i, 93.0) for i in range(4)]
    assert time_below(rs, 93.0, strict=True) == 0.0
    assert time_below(rs, 93.0, strict=False) == pytest.approx(4.0)


def test_alarm_conditions_counted_once_at_highest_priority():
    ev = [
        alarm(T0 + 1, "raised", "spo2_low", "MEDIUM"),
        alarm(T0 + 5, "escalated", "spo2_low", "HIGH"),
        alarm(T0 + 9, "deescalated", "spo2_low", "MEDIUM"),
        alarm(T0 + 20, "cleared", "spo2_low", "MEDIUM"),
        alarm(T0 + 30, "raised", "nibp_sys_high", "MEDIUM"),
        alarm(T0 + 31, "acknowledged", "nibp_sys_high", "MEDIUM"),
        alarm(T0 + 40, "raised", "link:x", "LOW"),  # still open at the end: counted
        alarm(T0 + 41, "paused", "", None),
    ]
    assert alarm_counts(ev) == {"HIGH": 1, "MEDIUM": 1, "LOW": 1}


def test_scores_discharge_and_minutes():
    cur = [
        obs.cadss(T0 - 60, "N", [0] * 23),
        obs.cadss(T0 + 40 * 60, "N", [2] * 10 + [0] * 13),
        obs.moaas(T0 + 15 * 60, "N", 4),
        obs.moaas(T0 + 30 * 60, "N", 3),
        obs.moaas(T0 + 45 * 60, "N", 3),
        obs.discharge(T0 + 125 * 60, "N", {k: True for k in obs.DISCHARGE_ITEMS}, ready_min=110),
    ]
    s = summarize(info(ended=T0 + 130 * 60), [], cur)
    assert s.peak_cadss.value == 20 and s.peak_cadss.minute == pytest.approx(40)
    assert s.lowest_moaas.value == 3 and s.lowest_moaas.minute == pytest.approx(30)
    assert s.ready_min == 110 and s.discharge_min == pytest.approx(125)
    assert s.observation_min == pytest.approx(125)  # discharge, not the end of the record


def test_observation_minutes_use_end_without_discharge_and_last_data_when_interrupted():
    rs = [spo2(T0 + 600, 97.0)]
    assert summarize(info(ended=T0 + 1800), rs).observation_min == pytest.approx(30)
    assert summarize(info(), rs).observation_min == pytest.approx(10)


def test_device_gaps_from_status_log_and_invalid_runs():
    ev = [
        SessionEvent(EventKind.DEVICE_STATUS, T0 + 10, OX, {"state": "streaming"}),
        SessionEvent(EventKind.DEVICE_STATUS, T0 + 100, OX, {"state": "no data"}),
        SessionEvent(EventKind.DEVICE_STATUS, T0 + 130, OX, {"state": "lost"}),
        SessionEvent(EventKind.DEVICE_STATUS, T0 + 160, OX, {"state": "streaming"}),
        SessionEvent(EventKind.DEVICE_STATUS, T0 + 500, CUFF, {"state": "lost"}),
    ]
    rs = [spo2(T0 + 200, 97.0)]
    rs += [Reading.invalid(OX, "spo2", T0 + 201 + i, Flag.PROBE_OFF) for i in range(4)]
    rs += [Reading.invalid(OX, "pr", T0 + 203 + i, Flag.PROBE_OFF) for i in range(4)]
    rs += [spo2(T0 + 205, 97.0), Reading(OX, "pr", T0 + 207, 70.0)]
    s = summarize(info(ended=T0 + 600), rs, (), ev)
    ox, cf = s.gaps[OX], s.gaps[CUFF]
    assert ox.link_gaps == ((T0 + 100, T0 + 160),) and ox.link_gap_s == pytest.approx(60)
    assert ox.invalid_readings == 8
    assert ox.invalid_spans == ((T0 + 201, T0 + 207),)  # spo2 201-205 and pr 203-207 merged
    assert cf.link_gaps == ((T0 + 500, T0 + 600),)  # lost until the end of the record
    assert math.isclose(cf.invalid_s, 0.0)


def test_record_is_plain_json():
    import json

    rs = (
        cuff(T + 100, 130, 85)
        + cuff(T0 + 600, 160, 100)
        + [spo2(T0 + 1, 91.0), Reading.invalid(OX, "spo2", T0 + 2, Flag.PROBE_OFF)]
    )
    rec = summarize(info(ended=T0 + 900), rs).record()
    back = json.loads(json.dumps(rec, allow_nan=False))
    assert back["peak_sbp"] == {"value": 160, "t": T0 + 600, "minute": 10.0}
    assert back["peak_delta_sbp"] == 30 and back["baseline"]["nibp_sys"] == 130
    assert back["gaps"][OX]["invalid_readings"] == 1 and back["lowest_moaas"] is None


def test_technical_alarms_are_counted_apart_from_the_patients():
    def tech(t: float, transition: str, key: str) -> SessionEvent:
        data = {"transition": transition, "key": key, "priority": "MEDIUM", "category": "technical"}
        return SessionEvent(EventKind.ALARM, t, "alarm", data)

    ev = [
        tech(T0, "raised", "notice:alarm-audio"),  # no sound device: open all session
        alarm(T0 + 30, "raised", "nibp_sys_high", "MEDIUM"),
        tech(T0 + 40, "raised", "link:sim:nibp"),
        tech(T0 + 50, "cleared", "link:sim:nibp"),
    ]
    assert alarm_counts(ev) == {"HIGH": 0, "MEDIUM": 1, "LOW": 0}
    assert alarm_counts(ev, technical=True) == {"HIGH": 0, "MEDIUM": 2, "LOW": 0}
