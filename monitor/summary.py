"""The prescriber's session summary (clinical.md requirement 31, §5.2): the figures she needs to
decide whether the next dose is safe, computed from plain recorded data.

Pure functions over readings, current observations, alarm-log events, device-status events and the
session info: no database and no Qt, so the review window, the PDF report, the exports and the tests
all get the same numbers from the same code.

Conventions (documented here because a prescriber will compare them with a paper form):

* Post-dose figures (peaks, SpO2 minimum and time below thresholds, CADSS peak, MOAA/S nadir) use
  only data at or after t0; with no dose recorded they use the whole recording and carry no minute.
* Baseline: the last valid cuff reading before t0 for NIBP channels; the median of the valid
  readings in the 60 s before t0 for the ~1 Hz channels.
* Time below an SpO2 threshold is time-weighted: each valid sample counts until the next sample of
  the same source, but never longer than ``max_hold_s`` (so a data gap is not counted as time below);
  INVALID samples count nothing.
* Alarms: each raised condition is counted once, at the highest priority it reached (an SpO2 < 93
  condition that escalates to ≤ 90 counts as one HIGH); the patient's alarms by priority, technical
  ones (a device lost, no alarm sound) as one number beside them.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from monitor.channels import CHANNELS, NIBP_CHANNELS, ChannelKind
from monitor.events import EventKind, SessionEvent
from monitor.obs_kinds import SCALES
from monitor.observations import Observation, ObservationLog, ObsKind
from monitor.readings import LinkState, Reading
from monitor.session import SessionInfo

_SUMMARY_KEYS: Final = tuple(spec.summary.key for spec in SCALES.values() if spec.summary is not None)

BASELINE_WINDOW_S: Final = 60.0
SPO2_LOW: Final = 93.0  # strictly below (Phase 3 flag, clinical.md §1.3)
SPO2_CRITICAL: Final = 90.0  # at or below (desaturation, clinical.md §2.1, §2.3)
MAX_HOLD_S: Final = 5.0  # a 1 Hz sample stands for at most this long when the next one is late
PRIORITIES: Final = ("HIGH", "MEDIUM", "LOW")
_GAP_STATES: Final = frozenset({LinkState.LOST.value, LinkState.NO_DATA.value})


@dataclass(frozen=True, slots=True)
class Extreme:
    """A peak or nadir: the value, when, and minutes after t0 (None without a dose)."""

    value: float
    t: float
    minute: float | None


@dataclass(frozen=True, slots=True)
class DeviceGaps:
    """Where one device gave no usable data: link gaps (LOST / NO_DATA until it streamed again,
    or until the end of the record) and INVALID readings (device there, value unusable)."""

    source: str
    link_gaps: tuple[tuple[float, float], ...] = ()
    invalid_readings: int = 0
    invalid_spans: tuple[tuple[float, float], ...] = ()

    @property
    def link_gap_s(self) -> float:
        return sum(b - a for a, b in self.link_gaps)

    @property
    def invalid_s(self) -> float:
        return sum(b - a for a, b in self.invalid_spans)


@dataclass(frozen=True, slots=True)
class SessionSummary:
    t0: float | None
    baseline: Mapping[str, float] = field(default_factory=dict)  # channel -> value
    peak_sbp: Extreme | None = None
    peak_dbp: Extreme | None = None
    peak_hr: Extreme | None = None
    min_spo2: Extreme | None = None
    spo2_below_93_min: float | None = None  # None: no SpO2 data
    spo2_at_or_below_90_min: float | None = None
    alarms_by_priority: Mapping[str, int] = field(default_factory=dict)  # patient alarms: "HIGH"/"MEDIUM"/"LOW" -> count
    technical_alarms: int = 0  # alarm conditions about the monitoring itself (devices, sound, storage)
    #: ``ScaleSummary.key`` -> the scale's post-dose extreme (None: not assessed), per ``monitor.obs_kinds.SCALES``.
    scale_extremes: Mapping[str, Extreme | None] = field(default_factory=dict)
    ready_min: float | None = None  # the nurse's answer: minutes from t0 the patient would have been ready
    discharge_t: float | None = None
    discharge_min: float | None = None
    observation_min: float | None = None  # (discharge, or end of record) - t0
    gaps: Mapping[str, DeviceGaps] = field(default_factory=dict)  # source -> gaps

    @property
    def peak_delta_sbp(self) -> float | None:
        """Peak SBP over the pre-dose baseline: the cross-session attenuation figure (requirement 32)."""
        base = self.baseline.get("nibp_sys")
        return None if self.peak_sbp is None or base is None else self.peak_sbp.value - base

    @property
    def peak_cadss(self) -> Extreme | None:
        return self.scale_extremes.get("peak_cadss")

    @property
    def lowest_moaas(self) -> Extreme | None:
        return self.scale_extremes.get("lowest_moaas")

    def record(self) -> dict[str, Any]:
        """Plain JSON (for the JSON export, the report and the tests): extremes as
        ``{value, t, minute}``, gaps as lists of ``[start, end]`` epoch seconds."""

        def ext(e: Extreme | None) -> dict[str, Any] | None:
            return None if e is None else {"value": e.value, "t": e.t, "minute": e.minute}

        return {
            "t0": self.t0,
            "baseline": dict(self.baseline),
            "peak_sbp": ext(self.peak_sbp),
            "peak_dbp": ext(self.peak_dbp),
            "peak_hr": ext(self.peak_hr),
            "peak_delta_sbp": self.peak_delta_sbp,
            "min_spo2": ext(self.min_spo2),
            "spo2_below_93_min": self.spo2_below_93_min,
            "spo2_at_or_below_90_min": self.spo2_at_or_below_90_min,
            "alarms_by_priority": dict(self.alarms_by_priority),
            "technical_alarms": self.technical_alarms,
            **{key: ext(self.scale_extremes.get(key)) for key in _SUMMARY_KEYS},
            "ready_min": self.ready_min,
            "discharge_t": self.discharge_t,
            "discharge_min": self.discharge_min,
            "observation_min": self.observation_min,
            "gaps": {
                src: {
                    "link_gaps": [list(g) for g in d.link_gaps],
                    "link_gap_s": d.link_gap_s,
                    "invalid_readings": d.invalid_readings,
                    "invalid_spans": [list(g) for g in d.invalid_spans],
                    "invalid_s": d.invalid_s,
                }
                for src, d in self.gaps.items()
            },
        }


def summarize(
    info: SessionInfo,
    readings: Sequence[Reading],
    observations: Sequence[Observation] = (),
    events: Sequence[SessionEvent] = (),
    *,
    end_t: float | None = None,
    max_hold_s: float = MAX_HOLD_S,
) -> SessionSummary:
    """The summary of one session. ``observations``: the current versions (amendments applied);
    ``events``: the session's events (alarm log and device status are picked out); ``end_t``: end
    of the record when the session has no end (interrupted) — defaults to the last data time."""
    t0 = info.t0
    rs = sorted(readings, key=lambda r: r.t)
    last_t = max([*(r.t for r in rs[-1:]), *(e.t for e in events), info.started])
    end = info.ended if info.ended is not None else (end_t if end_t is not None else last_t)
    post = [r for r in rs if t0 is None or r.t >= t0]
    obs_post = [o for o in observations if t0 is None or o.t >= t0]

    def minute(t: float) -> float | None:
        return None if t0 is None else (t - t0) / 60.0

    def extreme(channels: Iterable[str], high: bool) -> Extreme | None:
        for ch in channels:  # first channel with data wins (hr over pr)
            vals = [r for r in post if r.channel == ch and r.valid and math.isfinite(r.value)]
            if vals:
                best = max(vals, key=lambda r: r.value) if high else min(vals, key=lambda r: r.value)
                # earliest occurrence of the extreme value (max/min return the first in time order)
                return Extreme(best.value, best.t, minute(best.t))
        return None

    spo2 = _main_source(post, "spo2")
    discharge = next((o for o in reversed(observations) if o.kind is ObsKind.DISCHARGE), None)
    ready = discharge.data.get("ready_min") if discharge is not None else None
    stop = discharge.t if discharge is not None else end
    return SessionSummary(
        t0=t0,
        baseline=baseline(rs, t0),
        peak_sbp=extreme(["nibp_sys"], True),
        peak_dbp=extreme(["nibp_dia"], True),
        peak_hr=extreme(["hr", "pr"], True),
        min_spo2=extreme(["spo2"], False),
        spo2_below_93_min=None if not spo2 else time_below(spo2, SPO2_LOW, strict=True, max_hold_s=max_hold_s) / 60.0,
        spo2_at_or_below_90_min=None if not spo2 else time_below(spo2, SPO2_CRITICAL, strict=False, max_hold_s=max_hold_s) / 60.0,
        alarms_by_priority=alarm_counts(events),
        technical_alarms=sum(alarm_counts(events, technical=True).values()),
        scale_extremes={
            spec.summary.key: _score_extreme(obs_post, spec.kind, spec.value_field, spec.summary.highest, minute)
            for spec in SCALES.values()
            if spec.summary is not None
        },
        ready_min=None if ready is None else float(ready),
        discharge_t=None if discharge is None else discharge.t,
        discharge_min=None if discharge is None else minute(discharge.t),
        observation_min=None if t0 is None else max(0.0, (stop - t0) / 60.0),
        gaps=device_gaps(rs, events, end),
    )


def summarize_recorded(
    info: SessionInfo, readings: Sequence[Reading], events: Sequence[SessionEvent], *, end_t: float | None = None
) -> SessionSummary:
    """The summary of a recorded session from its stored events: observations in their current
    (amended) version, the alarm log and device statuses picked out. The review window, the course
    view, the report and the exports all summarise through here."""
    current = ObservationLog.from_events(events)[0].current()
    status = [e for e in events if e.kind in (EventKind.ALARM, EventKind.DEVICE_STATUS)]
    return summarize(info, readings, current, status, end_t=end_t)


def baseline(readings: Sequence[Reading], t0: float | None, window_s: float = BASELINE_WINDOW_S) -> dict[str, float]:
    """Pre-dose values: the last valid cuff reading before t0; the median of the last ``window_s``
    before t0 for continuous channels (a median, so one artefact does not move the baseline)."""
    if t0 is None:
        return {}
    out: dict[str, float] = {}
    pre = [r for r in readings if r.t < t0 and r.valid and math.isfinite(r.value)]
    for ch in NIBP_CHANNELS:
        cuff = [r for r in pre if r.channel == ch]
        if cuff:
            out[ch] = max(cuff, key=lambda r: r.t).value
    for ch, spec in CHANNELS.items():
        if spec.kind is ChannelKind.NUMERIC:
            vals = [r.value for r in pre if r.channel == ch and r.t >= t0 - window_s]
            if vals:
                out[ch] = float(statistics.median(vals))
    return out


def time_below(readings: Sequence[Reading], threshold: float, *, strict: bool, max_hold_s: float = MAX_HOLD_S) -> float:
    """Seconds the channel spent below (``strict``) or at-or-below ``threshold``. ``readings``: one
    source of one channel in time order. Each valid sample holds until the next sample but at most
    ``max_hold_s``; an INVALID sample holds nothing (it is a gap, not a low value)."""
    total = 0.0
    n = len(readings)
    for i, r in enumerate(readings):
        if not r.valid or not math.isfinite(r.value):
            continue
        low = r.value < threshold if strict else r.value <= threshold
        if not low:
            continue
        if i + 1 < n:
            total += min(max(readings[i + 1].t - r.t, 0.0), max_hold_s)
        else:  # the last sample stands for one usual interval
            total += _nominal_interval(readings, max_hold_s)
    return total


def alarm_counts(events: Sequence[SessionEvent], *, technical: bool = False) -> dict[str, int]:
    """Raised alarm conditions by priority, each counted once at the highest priority it reached:
    the patient's (physiological) alarms, or with ``technical`` those about the monitoring itself
    (a device lost, no alarm sound, the storage). An entry without a category counts as physiological."""
    order = {p: i for i, p in enumerate(reversed(PRIORITIES))}  # LOW 0 < MEDIUM 1 < HIGH 2
    open_: dict[str, str] = {}
    done: list[str] = []
    for e in events:
        if e.kind is not EventKind.ALARM or (e.data.get("category") == "technical") is not technical:
            continue
        tr, key, prio = e.data.get("transition"), str(e.data.get("key", "")), e.data.get("priority")
        if tr == "raised" and prio in order:
            if key in open_:
                done.append(open_.pop(key))
            open_[key] = prio
        elif tr == "escalated" and key in open_ and prio in order and order[prio] > order[open_[key]]:
            open_[key] = prio
        elif tr == "cleared" and key in open_:
            done.append(open_.pop(key))
    done.extend(open_.values())
    return {p: done.count(p) for p in PRIORITIES}


def device_gaps(readings: Sequence[Reading], events: Sequence[SessionEvent], end: float) -> dict[str, DeviceGaps]:
    """Per device: link gaps from the device-status log and runs of INVALID readings (a run lasts
    from its first INVALID reading to the next valid reading of the same channel)."""
    link: dict[str, list[tuple[float, float]]] = {}
    since: dict[str, float] = {}
    for e in sorted((e for e in events if e.kind is EventKind.DEVICE_STATUS), key=lambda e: e.t):
        state = e.data.get("state")
        if state in _GAP_STATES:
            since.setdefault(e.source, e.t)
        elif e.source in since:
            link.setdefault(e.source, []).append((since.pop(e.source), e.t))
    for src, t in since.items():
        link.setdefault(src, []).append((t, max(t, end)))

    invalid: dict[str, int] = {}
    spans: dict[str, list[tuple[float, float]]] = {}
    run_start: dict[tuple[str, str], float] = {}
    last_t: dict[tuple[str, str], float] = {}
    for r in readings:
        key = (r.source, r.channel)
        if not r.valid:
            invalid[r.source] = invalid.get(r.source, 0) + 1
            run_start.setdefault(key, r.t)
        elif key in run_start:
            spans.setdefault(r.source, []).append((run_start.pop(key), r.t))
        last_t[key] = r.t
    for key, start in run_start.items():
        spans.setdefault(key[0], []).append((start, max(last_t[key], start)))

    sources = sorted(set(link) | set(invalid) | set(spans))
    return {s: DeviceGaps(s, tuple(link.get(s, ())), invalid.get(s, 0), tuple(_merge(spans.get(s, [])))) for s in sources}


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping spans (two channels of one device invalid together) counted once."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _main_source(readings: Sequence[Reading], channel: str) -> list[Reading]:
    """The channel's readings from the source that delivered most of them: two oximeters on one
    patient must not double the time below a threshold."""
    by_source: dict[str, list[Reading]] = {}
    for r in readings:
        if r.channel == channel:
            by_source.setdefault(r.source, []).append(r)
    if not by_source:
        return []
    return max(by_source.values(), key=lambda rs: sum(1 for r in rs if r.valid))


def _nominal_interval(readings: Sequence[Reading], cap: float) -> float:
    """The median sample interval (what the last sample stands for), capped."""
    dts = [b.t - a.t for a, b in itertools.pairwise(readings) if b.t > a.t]
    return min(float(statistics.median(dts)), cap) if dts else min(1.0, cap)


def _score_extreme(
    obs: Sequence[Observation], kind: ObsKind, key: str, high: bool, minute: Callable[[float], float | None]
) -> Extreme | None:
    scored = [(float(o.data[key]), o.t) for o in obs if o.kind is kind and key in o.data]
    if not scored:
        return None
    value = max(v for v, _ in scored) if high else min(v for v, _ in scored)
    t = min(t for v, t in scored if v == value)
    return Extreme(value, t, minute(t))


def summary_lines(s: SessionSummary) -> list[tuple[str, str]]:
    """The summary as (label, text) lines, worded for a prescriber: the review panel and the printed
    report show the same lines. A figure that could not be computed says why ("no SpO₂ recorded"),
    never 0."""

    def at(e: Extreme) -> str:
        return "" if e.minute is None else f" at {e.minute:+.1f} min"

    def value(ch: str, v: float) -> str:
        spec = CHANNELS[ch]
        return f"{v:.{spec.decimals}f} {_DISPLAY_UNITS.get(spec.ucum, spec.ucum)}"

    def peak(label: str, ch: str, e: Extreme | None, base: float | None = None) -> tuple[str, str]:
        if e is None:
            return label, f"no {CHANNELS[ch].label} recorded"
        over = "" if base is None else f" ({e.value - base:+.0f} over baseline)"
        return label, value(ch, e.value) + at(e) + over

    b = s.baseline
    if s.t0 is None:
        base_text = "no dose recorded: figures cover the whole recording"
    elif not b:
        base_text = "no readings before the dose"
    else:
        parts = []
        if "nibp_sys" in b and "nibp_dia" in b:
            parts.append(f"BP {b['nibp_sys']:.0f}/{b['nibp_dia']:.0f} mmHg")
        for ch in ("hr", "pr", "spo2", "rr"):
            if ch in b and not (ch == "pr" and "hr" in b):
                parts.append(f"{CHANNELS[ch].label} {value(ch, b[ch])}")
        base_text = " · ".join(parts) if parts else "no readings before the dose"
    lines = [("Baseline (pre-dose)", base_text)]
    lines.append(peak("Peak SBP", "nibp_sys", s.peak_sbp, b.get("nibp_sys")))
    lines.append(peak("Peak DBP", "nibp_dia", s.peak_dbp, b.get("nibp_dia")))
    lines.append(peak("Peak HR", "hr", s.peak_hr))
    if s.min_spo2 is None or s.spo2_below_93_min is None or s.spo2_at_or_below_90_min is None:
        lines.append(("Lowest SpO₂", "no SpO₂ recorded"))
    else:
        lines.append(("Lowest SpO₂", value("spo2", s.min_spo2.value) + at(s.min_spo2)))
        lines.append(("SpO₂ below 93 %", f"{s.spo2_below_93_min:.1f} min"))
        lines.append(("SpO₂ at or below 90 %", f"{s.spo2_at_or_below_90_min:.1f} min"))
    counts = s.alarms_by_priority
    technical = f" (and {s.technical_alarms} technical)" if s.technical_alarms else ""
    lines.append(("Alarms", " · ".join(f"{counts.get(p, 0)} {p.lower()}" for p in PRIORITIES) + technical))
    for spec in SCALES.values():
        if spec.summary is not None:
            e = s.scale_extremes.get(spec.summary.key)
            lines.append((spec.summary.label, "not assessed" if e is None else f"{e.value:.0f}{at(e)}"))
    lines.append(("Ready to leave", "not recorded" if s.ready_min is None else f"{s.ready_min:+.0f} min (nurse's assessment)"))
    lines.append(("Discharged", "not recorded" if s.discharge_min is None else f"{s.discharge_min:+.1f} min"))
    lines.append(
        (
            "Observation time",
            "no dose recorded" if s.observation_min is None else f"{s.observation_min:.0f} min from the dose to discharge or end",
        )
    )
    gaps = []
    for src, g in s.gaps.items():
        bits = []
        if g.link_gaps:
            bits.append(f"no data {_duration(g.link_gap_s)} in {len(g.link_gaps)} gap{'s' if len(g.link_gaps) != 1 else ''}")
        if g.invalid_readings:
            bits.append(f"{g.invalid_readings} invalid readings ({_duration(g.invalid_s)})")
        if bits:
            gaps.append(f"{src}: " + ", ".join(bits))
    lines.append(("Data gaps", "; ".join(gaps) if gaps else "none"))
    return lines


_DISPLAY_UNITS: Final = {"mm[Hg]": "mmHg", "Cel": "°C"}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
