"""Filling ``monitor.report_data.ReportData`` from a recorded session, for the printed report.

Reads through ``RecordingReader`` (short read transactions) and ``recordings.signoff`` (signature
validity); formats everything for print in UTC. The REMS-style monitoring-form summary (Spravato
only) is pre-filled from the recording and is for the clinic to check, not submitted from here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from monitor.events import EventKind, SessionEvent
from monitor.observations import Observation, ObsKind, describe
from monitor.readings import Reading
from monitor.report_data import MonitoringFormSummary, ReportData, ReportRow, ReportSeries, SignatureLine
from monitor.session import DosingProtocol
from monitor.summary import summarize_recorded, summary_lines
from recordings.database import Database
from recordings.observation_export import observation_log
from recordings.reader import RecordingReader, SessionRecord
from recordings.signoff import signature_status

#: Channels of the trend plot: (label, unit, colour, episodic?) by channel code; HR falls back to pulse rate.
_PLOT = {
    "nibp_sys": ("SBP", "mmHg", "#c62828", True),
    "nibp_dia": ("DBP", "mmHg", "#ef6c00", True),
    "hr": ("HR", "/min", "#2e7d32", False),
    "pr": ("HR (pulse)", "/min", "#2e7d32", False),
    "spo2": ("SpO2", "%", "#1565c0", False),
}
#: The PMF's "40 minutes post-administration" BP: the cuff reading closest to t0 + 40 min within this window.
BP_40_WINDOW_MIN = 10.0
PMF_DUE_DAYS = 7


def _clock(t: float | None) -> str:
    return "—" if t is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def _minute(t: float, t0: float | None) -> str:
    return "" if t0 is None else f"{(t - t0) / 60.0:+.1f}"


def _bp_pairs(readings: Sequence[Reading]) -> list[tuple[float, float, float]]:
    """Valid (t, sys, dia) cuff pairs (sys and dia from one device at one instant), in time order."""
    by_key: dict[tuple[str, float], dict[str, float]] = {}
    for r in readings:
        if r.channel in ("nibp_sys", "nibp_dia") and r.valid:
            by_key.setdefault((r.source, r.t), {})[r.channel] = r.value
    return sorted((t, v["nibp_sys"], v["nibp_dia"]) for (_, t), v in by_key.items() if len(v) == 2)


def _bp_text(pair: tuple[float, float, float] | None, t0: float | None) -> str:
    if pair is None:
        return "not recorded"
    t, sys_, dia = pair
    at = f" at {_minute(t, t0)} min" if t0 is not None else ""
    return f"{sys_:.0f}/{dia:.0f} mmHg{at}"


def _series(readings: Sequence[Reading], t0: float) -> tuple[ReportSeries, ...]:
    by_channel: dict[str, list[Reading]] = {}
    for r in readings:
        by_channel.setdefault(r.channel, []).append(r)
    codes = ["nibp_sys", "nibp_dia", "hr" if "hr" in by_channel else "pr", "spo2"]
    out = []
    for code in codes:
        rows = [r for r in by_channel.get(code, []) if r.valid or not r.channel.startswith("nibp")]
        if not rows:
            continue
        label, unit, color, episodic = _PLOT[code]
        out.append(
            ReportSeries(
                label,
                unit,
                tuple((r.t - t0) / 60.0 for r in rows),
                tuple(r.value if r.valid else math.nan for r in rows),
                color,
                markers=episodic,
            )
        )
    return tuple(out)


def _alarm_rows(events: Sequence[SessionEvent], t0: float | None) -> tuple[ReportRow, ...]:
    rows = []
    for e in events:
        if e.kind is not EventKind.ALARM:
            continue
        d = e.data
        prio = d.get("priority") or ""
        text = " ".join(x for x in (prio, str(d.get("transition", "")), "—", str(d.get("message", ""))) if x)
        rows.append(ReportRow(_minute(e.t, t0), _clock(e.t), text, str(d.get("user") or "")))
    return tuple(rows)


def _observation_rows(current: Sequence[Observation], t0: float | None) -> tuple[ReportRow, ...]:
    rows = []
    for o in sorted(current, key=lambda o: o.t):
        text = describe(o) + (f" (amended: {o.reason})" if o.amends else "")
        rows.append(ReportRow(_minute(o.t, t0), _clock(o.t), text, o.author))
    return tuple(rows)


def _yes_no(flags: list[bool]) -> str:
    return "not assessed" if not flags else ("Yes" if any(flags) else "No")


def _monitoring_form(
    session: SessionRecord, doses: list[Observation], bps: list[tuple[float, float, float]], current: list[Observation],
    completion: float | None, ready: str, total: str,
) -> MonitoringFormSummary:  # fmt: skip
    t0 = session.t0
    day = datetime.fromtimestamp(t0 if t0 is not None else session.started, UTC).date()
    total_mg = sum(float(o.data.get("dose_mg", 0.0)) for o in doses)
    prior = [p for p in bps if t0 is not None and p[0] <= t0]
    near40 = [p for p in bps if t0 is not None and abs(p[0] - (t0 + 2400)) <= BP_40_WINDOW_MIN * 60]
    before_end = [p for p in bps if completion is not None and p[0] <= completion and (t0 is None or p[0] > t0)]
    moaas = [int(o.data["score"]) < 5 for o in current if o.kind is ObsKind.MOAAS and "score" in o.data]
    cadss = [bool(o.data.get("dissociation")) for o in current if o.kind is ObsKind.CADSS]
    lots = sorted({str(o.data.get("lot", "")) for o in doses} - {""})
    return MonitoringFormSummary(
        treatment_date=day.isoformat(),
        dose=f"{total_mg:g} mg ({len(doses)} device{'s' if len(doses) != 1 else ''})" if doses else "not recorded",
        lot=", ".join(lots) or "not recorded",
        bp_prior=_bp_text(prior[-1] if prior else None, t0),
        bp_40_min=_bp_text(min(near40, key=lambda p: abs(p[0] - (t0 or 0) - 2400)) if near40 else None, t0),
        bp_before_completion=_bp_text(before_end[-1] if before_end else None, t0),
        total_minutes=total,
        ready_to_leave_minutes=ready,
        sedation=_yes_no(moaas),
        dissociation=_yes_no(cadss),
        due_by=(day + timedelta(days=PMF_DUE_DAYS)).isoformat(),
    )


def report_data(db: Database, ref: int | str) -> ReportData:
    """The report of session ``ref`` (an id or ``"latest"``); ``StorageError`` if it does not exist."""
    reader = RecordingReader(db)
    session = reader.session(ref)
    sid, t0 = session.id, session.t0
    all_readings = reader.readings(sid)
    readings = [r for r in all_readings if r.channel in _PLOT]
    events = reader.events(sid)
    log = observation_log(events)
    current = log.current()
    doses = sorted((o for o in current if o.kind is ObsKind.DOSE), key=lambda o: o.t)
    discharges = sorted((o for o in current if o.kind is ObsKind.DISCHARGE), key=lambda o: o.t)
    discharge = discharges[-1] if discharges else None
    completion = discharge.t if discharge is not None else session.ended
    total = f"{(completion - t0) / 60.0:.0f}" if (t0 is not None and completion is not None) else "—"
    ready_min = discharge.data.get("ready_min") if discharge is not None else None
    ready = f"{float(ready_min):g}" if ready_min is not None else "not recorded"
    bps = _bp_pairs(readings)
    peak = max(bps, key=lambda p: p[1]) if bps else None
    signatures = tuple(SignatureLine(s.line(), s.valid) for s in signature_status(db, sid))
    form = (
        _monitoring_form(session, doses, bps, current, completion, ready, total)
        if session.protocol is DosingProtocol.SPRAVATO
        else None
    )
    return ReportData(
        session_id=sid,
        patient_id=session.patient_id,
        protocol=session.protocol.label,
        clinician=session.clinician,
        doses=tuple(f"{_minute(o.t, t0) or '—'} min: {describe(o)}" for o in doses),
        lots=tuple(sorted({str(o.data.get("lot", "")) for o in doses} - {""})),
        started=_clock(session.started),
        t0=_clock(t0) if t0 is not None else "no dose recorded",
        discharge=_clock(discharge.t) + f" ({_minute(discharge.t, t0)} min)" if discharge is not None else "not recorded",
        ended=_clock(session.ended) if session.ended is not None else "interrupted (no end recorded)",
        total_minutes=total,
        ready_to_leave_minute=ready,
        peak_bp=_bp_text(peak, t0) if peak else "no BP recorded",
        series=_series(readings, t0 if t0 is not None else session.started),
        alarms=_alarm_rows(events, t0),
        observations=_observation_rows(current, t0),
        signatures=signatures,
        monitoring_form=form,
        generated=_clock(time.time()),
        checkpoints_min=(0.0, 40.0) if t0 is not None else (),
        summary=tuple(summary_lines(summarize_recorded(session.info(), all_readings, events))),
    )
