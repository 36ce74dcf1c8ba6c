"""The clinician-observation part of the JSON export: every observation with its amendments linked
(originals are never dropped) and the protocol checkpoints as they stood at the end of the record.

Observations are stored as session events (``observation`` / ``amendment``, see
``monitor.observations``); this rebuilds them, so the export does not depend on the live program.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from monitor.events import SessionEvent
from monitor.observations import Observation, ObservationLog, describe
from monitor.readings import Reading
from monitor.schedule import BpSample, TemplateError, evaluate, load_templates
from recordings.reader import SessionRecord

_log = logging.getLogger(__name__)


def observation_log(events: Sequence[SessionEvent]) -> ObservationLog:
    """The session's observations in commit order, rebuilt from its events."""
    log, unreadable = ObservationLog.from_events(events)
    for e in unreadable:  # never stops an export: the raw event is under "events"
        _log.warning("observation event at %s could not be linked: %r", e.t, e.data)
    return log


def _entry(o: Observation, t0: float | None, iso: Any) -> dict[str, Any]:
    return {
        "id": o.obs_id,
        "kind": o.kind.value,
        "t": o.t,
        "time": iso(o.t),
        "minutes_from_t0": None if t0 is None else (o.t - t0) / 60.0,
        "recorded_t": o.recorded_t,
        "recorded_time": iso(o.recorded_t),
        "author": o.author,
        "summary": describe(o),
        "data": dict(o.data),
        **({"amends": o.amends, "reason": o.reason} if o.amends else {}),
    }


def export_observations(events: Sequence[SessionEvent], t0: float | None, iso: Any) -> list[dict[str, Any]]:
    """Originals in clinical-time order, each with ``amendments`` (oldest first) and ``current``
    (the id of the version that counts)."""
    log = observation_log(events)
    out = []
    for o in sorted((o for o in log.all() if o.amends is None), key=lambda o: o.t):
        entry = _entry(o, t0, iso)
        amendments = log.amendments_of(o.obs_id)
        entry["amendments"] = [_entry(a, t0, iso) for a in amendments]
        entry["current"] = amendments[-1].obs_id if amendments else o.obs_id
        out.append(entry)
    return out


def export_checkpoints(
    session: SessionRecord, events: Sequence[SessionEvent], readings: Sequence[Reading], now: float, iso: Any
) -> list[dict[str, Any]]:
    """Each checkpoint of the session's protocol template with its state at the end of the record
    (or ``now`` for a running one): done with when, or missed."""
    try:
        tpl = load_templates().get(session.protocol)
    except TemplateError:
        return []
    if tpl is None:
        return []
    log = observation_log(events)
    by_key: dict[tuple[str, float], dict[str, float]] = {}
    for r in readings:
        if r.channel in ("nibp_sys", "nibp_dia") and r.valid and r.source != "manual":
            by_key.setdefault((r.source, r.t), {})[r.channel] = r.value
    bps = [BpSample(t, v["nibp_sys"], v["nibp_dia"]) for (_, t), v in by_key.items() if len(v) == 2]
    for o in log.current():
        vals = o.data.get("values", {}) if o.kind.value == "manual_vitals" else {}
        if "nibp_sys" in vals:
            bps.append(BpSample(o.t, float(vals["nibp_sys"]), float(vals["nibp_dia"])))
    end = session.ended if session.ended is not None else now
    status = evaluate(tpl, session.info(), end, log.current(), bps)
    return [
        {
            "key": s.checkpoint.key,
            "label": s.label,
            "kind": s.checkpoint.kind.value,
            "state": s.state.value,
            "due_t": s.due_t,
            "due_time": iso(s.due_t),
            "done_t": s.done_t,
            "done_time": iso(s.done_t),
            "source": s.checkpoint.source,
        }
        for s in status.checkpoints
    ]
