"""``session-monitor export --format json``: one recorded session as a JSON-ready dict.

Every value is a plain JSON type (no NaN: a missing value is ``null``), times are given both as
UTC epoch seconds (``t``) and as ISO-8601 UTC text (``time``), and every channel carries its UCUM
unit and LOINC/MDC codes, so the file can be read without this program.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from monitor.channels import CHANNELS, ChannelSpec
from monitor.events import EventKind, SessionEvent
from monitor.readings import Flag, Reading, WaveformBlock
from monitor.summary import summarize_recorded
from recordings.database import Database
from recordings.observation_export import export_checkpoints, export_observations
from recordings.reader import DeviceRecord, RecordingReader, SessionRecord

FORMAT: Final = "session-monitor/1"
INTERRUPTED: Final = "interrupted"


def export_session(
    db: Database,
    ref: int | str,
    *,
    live_session_id: int | None = None,
    include_waveforms: bool = True,
) -> dict[str, Any]:
    """The session ``ref`` (an id or ``"latest"``) as the ``session-monitor/1`` JSON document.

    A session without an end that is not ``live_session_id`` (the one being recorded now) was cut
    short by a crash or power loss: it is exported with ``end_reason: "interrupted"`` (the database
    itself is not changed). Raises ``StorageError`` if there is no such session.
    """
    reader = RecordingReader(db)
    session = reader.session(ref)
    readings = reader.readings(session.id)
    waveforms = reader.waveforms(session.id) if include_waveforms else []
    codes = sorted({r.channel for r in readings} | {w.channel for w in waveforms})
    events = reader.events(session.id)
    return {
        "format": FORMAT,
        "session": _session(session, live_session_id),
        "devices": [_device(d) for d in reader.devices(session.id)],
        "channels": {code: _channel(CHANNELS[code]) for code in codes},
        "readings": [_reading(r, session.t0) for r in readings],
        "waveforms": [_waveform(w) for w in waveforms],
        "events": [_event(e) for e in events],
        "alarm_log": [_alarm(e, session.t0) for e in events if e.kind in (EventKind.ALARM, EventKind.ALARM_SETTING)],
        "observations": export_observations(events, session.t0, iso_utc),
        "summary": summarize_recorded(session.info(), readings, events).record(),
        "checkpoints": export_checkpoints(session, events, readings, max([time.time(), *(r.t for r in readings[-1:])]), iso_utc),
    }


def iso_utc(t: float | None) -> str | None:
    """``2027-01-15T08:00:00.250Z`` for an epoch time (millisecond precision), None for None."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _session(s: SessionRecord, live_session_id: int | None) -> dict[str, Any]:
    end_reason = s.end_reason
    if s.ended is None and s.id != live_session_id:
        end_reason = INTERRUPTED
    return {
        "id": s.id,
        "patient_id": s.patient_id,
        "protocol": s.protocol.value,
        "protocol_label": s.protocol.label,
        "clinician": s.clinician,
        "started": iso_utc(s.started),
        "t0": iso_utc(s.t0),
        "ended": iso_utc(s.ended),
        "started_utc": s.started,
        "t0_utc": s.t0,
        "ended_utc": s.ended,
        "end_reason": end_reason,
        "speed": s.speed,
        "app_version": s.app_version,
    }


def _device(d: DeviceRecord) -> dict[str, Any]:
    return {"source": d.source, "label": d.label, "kind": d.kind, "stale_after_s": d.stale_after_s}


def _channel(spec: ChannelSpec) -> dict[str, Any]:
    return {"label": spec.label, "unit": spec.ucum, "loinc": spec.loinc, "mdc": spec.mdc}


def _reading(r: Reading, t0: float | None) -> dict[str, Any]:
    return {
        "t": r.t,
        "time": iso_utc(r.t),
        "minutes_from_t0": None if t0 is None else (r.t - t0) / 60.0,
        "source": r.source,
        "channel": r.channel,
        "value": r.value if math.isfinite(r.value) else None,
        "unit": r.unit,
        "quality": r.quality.name,
        "flags": _flag_names(r.flags),
    }


def _flag_names(flags: Flag) -> list[str]:
    return [f.name for f in Flag if f and f in flags and f.name is not None]


def _waveform(w: WaveformBlock) -> dict[str, Any]:
    return {
        "source": w.source,
        "channel": w.channel,
        "t0": w.t0,
        "time": iso_utc(w.t0),
        "fs": w.fs,
        "samples": _samples(w.samples),
    }


def _samples(samples: np.ndarray) -> list[float | None]:
    """Samples as plain floats, NaN (a gap) as null. Samples stored as float32 are written as the
    shortest decimals that round-trip (0.1, not 0.10000000149011612)."""
    as32 = samples.astype(np.float32)
    if np.array_equal(as32.astype(np.float64), samples, equal_nan=True):
        values = [float(x) for x in as32.astype(str).tolist()]
    else:
        values = samples.astype(np.float64).tolist()
    return [v if math.isfinite(v) else None for v in values]


def _alarm(e: SessionEvent, t0: float | None) -> dict[str, Any]:
    """One alarm-log entry (IEC 60601-1-8 6.12): time, transition, priority, message, value,
    limit, user; setting changes with old and new value."""
    entry = {"t": e.t, "time": iso_utc(e.t), "minutes_from_t0": None if t0 is None else (e.t - t0) / 60.0, "kind": e.kind.value}
    entry.update(e.data)
    return entry


def _event(e: SessionEvent) -> dict[str, Any]:
    return {"t": e.t, "time": iso_utc(e.t), "kind": e.kind.value, "source": e.source, "data": e.data}
