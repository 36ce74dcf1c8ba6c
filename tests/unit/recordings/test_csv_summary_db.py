"""CSV export and ``summarize_session`` on a small hand-recorded session (INVALID values, no dose)."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest
from rec_helpers import T_START, session_info

from monitor import observations as obs
from monitor.events import EventKind, SessionEvent
from monitor.ports import DeviceInfo
from monitor.readings import Flag, Quality, Reading
from recordings.csv_export import COLUMNS, write_csv
from recordings.summarize import summarize_session

T0 = T_START + 300


def _record(recorder, dosed: bool) -> int:
    info = session_info()
    sid = recorder.begin_session(info)
    recorder.register_device(sid, DeviceInfo("sim:ox", "Oximeter", "oximeter", 5.0))
    recorder.submit_readings(
        sid,
        [
            Reading("sim:ox", "spo2", T_START + 240, 97.5),
            Reading("sim:ox", "spo2", T0 + 60, 92.0, Quality.QUESTIONABLE, Flag.ARTEFACT | Flag.LOW_PERFUSION),
            Reading.invalid("sim:ox", "spo2", T0 + 61, Flag.PROBE_OFF),
        ],
    )
    m = obs.moaas(T0 + 900, "Nurse Test", 4)
    recorder.add_event(sid, SessionEvent(EventKind.OBSERVATION, m.t, "user:Nurse Test", m.record()))
    fix = obs.amendment(m, obs.moaas(T0 + 900, "Nurse Test", 2), "Dr Test", "mis-click")
    recorder.add_event(sid, SessionEvent(EventKind.AMENDMENT, fix.t, "user:Dr Test", fix.record()))
    if dosed:
        recorder.update_session(dataclasses.replace(info, t0=T0, session_id=sid))
    assert recorder.flush(5)
    return sid


def test_csv_rows_values_flags_and_amended_scores(db, recorder):
    sid = _record(recorder, dosed=True)
    buf = io.StringIO()
    assert write_csv(db, sid, buf) == 4
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    assert rows[1] == ["2027-01-15T08:04:00.000Z", "-1.0000", "spo2", "97.5", "%", "OK", "sim:ox", ""]
    assert rows[2][3:] == ["92", "%", "QUESTIONABLE", "sim:ox", "ARTEFACT|LOW_PERFUSION"]
    assert rows[3][3:] == ["", "%", "INVALID", "sim:ox", "PROBE_OFF"]
    assert rows[4] == ["2027-01-15T08:20:00.000Z", "15.0000", "moaas", "2", "{score}", "OK", "observation:Dr Test", ""]


def test_csv_without_dose_leaves_minutes_empty(db, recorder):
    sid = _record(recorder, dosed=False)
    buf = io.StringIO()
    write_csv(db, sid, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert {r["minutes_from_t0"] for r in rows} == {""}


def test_summarize_session_uses_amended_scores_and_flags_invalid(db, recorder):
    sid = _record(recorder, dosed=True)
    s = summarize_session(db, sid)
    assert s.lowest_moaas.value == 2
    assert s.baseline == {"spo2": 97.5}  # exactly 60 s before t0: inside the window
    assert s.min_spo2.value == 92.0
    assert s.gaps["sim:ox"].invalid_readings == 1
    assert s.spo2_below_93_min == pytest.approx(1 / 60)
