"""Clinician observations: doses, scores, adverse events, interventions, notes, phase and therapy
markers, manual vitals, the pre-dose checklist, the BP caution acknowledgement and discharge.

Storage decision: observations are stored as session events of kind ``observation`` and
``amendment`` (``EventKind``), not in a table of their own. The events table is already append-only,
written synchronously by ``RecordingSink.add_event`` (committed before it returns) and exported; a
second table would add a migration and a second write path for the same guarantee. Each observation
carries its own ``obs_id`` (a UUID) so an amendment can reference its original across restarts and
exports without depending on database row ids.

Records are never changed: a correction is a new ``Observation`` with ``amends`` set to the original's
id, an author, a time and a reason (clinical.md requirement 27). The original stays visible.
"""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from monitor.events import EventKind, SessionEvent
from monitor.instruments import (
    AE_ITEMS,
    MOAAS_LEVELS,
    MOAAS_NAME,
    RASS_LEVELS,
    check_moaas,
    check_rass,
    score_cadss,
)


class ObservationError(ValueError):
    """Refused input; the message says what is wrong and what is allowed. Nothing has been stored."""


class ObsKind(enum.Enum):
    """Stored by value; values never change."""

    DOSE = "dose"
    MOAAS = "moaas"
    CADSS = "cadss"
    RASS = "rass"
    ADVERSE_EVENT = "adverse_event"
    INTERVENTION = "intervention"
    NOTE = "note"
    PHASE = "phase"
    THERAPY = "therapy"
    MANUAL_VITALS = "manual_vitals"
    PREDOSE_CHECKLIST = "predose_checklist"
    BP_CAUTION_ACK = "bp_caution_ack"
    DISCHARGE = "discharge"


class Route(enum.Enum):
    INTRANASAL = "intranasal"
    IV = "iv"
    IM = "im"
    SUBLINGUAL = "sublingual"
    ORAL = "oral"


PHASES: Final[tuple[str, ...]] = ("preparation", "dosing", "peak", "integration", "recovery")
THERAPY_MARKERS: Final[tuple[str, ...]] = (
    "EMDR set started",
    "EMDR set ended",
    "Imagery rescripting",
    "Parts work (IFS)",
    "ART session",
    "Music / eyeshades",
)
INTERVENTIONS: Final[tuple[str, ...]] = (
    "Antihypertensive given",
    "Oxygen applied",
    "Antiemetic given",
    "Benzodiazepine given",
    "Reassurance / verbal support",
    "Repositioned",
)
#: Spravato: one device delivers 28 mg; devices at least 5 min apart (clinical.md §1.3, requirement 2).
SPRAVATO_DEVICE_MG: Final = 28.0
SPRAVATO_DEVICE_GAP_S: Final = 300.0

#: Pre-dose checklist items (requirement 8): key -> question; each is answered yes/no.
PREDOSE_ITEMS: Final[Mapping[str, str]] = {
    "rems_enrolled": "Patient enrolled in REMS",
    "first_treatment": "First treatment",
    "benzodiazepines": "Takes benzodiazepines",
    "hypnotics": "Takes non-benzodiazepine hypnotics",
    "psychostimulants": "Takes psychostimulants",
    "maois": "Takes MAOIs",
    "opioids": "Takes opioids",
    "npo_food_2h": "No food for ≥ 2 h",
    "npo_liquids_30min": "No liquids for ≥ 30 min",
    "nasal_meds_1h": "Nasal steroid / decongestant ≥ 1 h before (or none)",
    "transport_arranged": "Transport home arranged",
}
#: Discharge checklist (requirement 12): every item must be confirmed before discharge.
DISCHARGE_ITEMS: Final[Mapping[str, str]] = {
    "vitals_acceptable": "Vital signs acceptable at completion",
    "alert_oriented": "Patient alert and oriented",
    "moaas_5": "MOAA/S = 5",
    "escort_confirmed": "Escort / transport confirmed",
    "instructions_given": "Instructions given (no driving until the next day after sleep)",
}

#: Manual vitals: accepted physiological ranges (refusing typos, not judging the patient).
VITAL_RANGES: Final[Mapping[str, tuple[float, float, str]]] = {
    "nibp_sys": (50.0, 260.0, "systolic BP"),
    "nibp_dia": (20.0, 160.0, "diastolic BP"),
    "hr": (20.0, 250.0, "heart rate"),
    "spo2": (50.0, 100.0, "SpO₂"),
    "rr": (2.0, 60.0, "respiratory rate"),
}
#: An observation may be dated this far ahead of the session clock (clock skew between dialog and commit).
FUTURE_TOLERANCE_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class Observation:
    """One clinician entry. ``t``: when it was observed / measured / given (session clock);
    ``recorded_t``: when it was entered. ``amends``: the original's ``obs_id`` for a correction."""

    kind: ObsKind
    t: float
    author: str
    data: Mapping[str, Any]
    recorded_t: float = 0.0
    obs_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    amends: str | None = None
    reason: str = ""

    def record(self) -> dict[str, Any]:
        """The JSON-able form stored in the events table."""
        return {
            "obs_id": self.obs_id,
            "obs_kind": self.kind.value,
            "author": self.author,
            "recorded_t": self.recorded_t,
            "amends": self.amends,
            "reason": self.reason,
            "data": dict(self.data),
        }

    @staticmethod
    def from_record(t: float, rec: Mapping[str, Any]) -> Observation:
        return Observation(
            kind=ObsKind(rec["obs_kind"]),
            t=t,
            author=str(rec["author"]),
            data=dict(rec.get("data", {})),
            recorded_t=float(rec.get("recorded_t", t)),
            obs_id=str(rec["obs_id"]),
            amends=rec.get("amends"),
            reason=str(rec.get("reason", "")),
        )


# ---- builders: validate and build, or raise ObservationError (nothing built, nothing stored) -----


def _author(author: str) -> str:
    a = author.strip()
    if not a:
        raise ObservationError("who recorded this is required: enter your name")
    return a


def _obs(kind: ObsKind, t: float, author: str, data: dict[str, Any]) -> Observation:
    return Observation(kind, float(t), _author(author), data)


def dose(
    t: float, author: str, *, drug: str, route: Route | str | None, dose_mg: float, lot: str = "", device: int | None = None
) -> Observation:
    """One administration. Spravato: one per 28 mg device, numbered 1, 2, 3 (``device``)."""
    if route is None or route == "":
        raise ObservationError(f"a dose needs a route: one of {', '.join(r.value for r in Route)}")
    try:
        r = Route(route)
    except ValueError:
        raise ObservationError(f"route {route!r} is not known: use one of {', '.join(x.value for x in Route)}") from None
    if not drug.strip():
        raise ObservationError("a dose needs the drug name")
    if not (isinstance(dose_mg, int | float) and math.isfinite(dose_mg) and 0 < dose_mg <= 1000):
        raise ObservationError(f"dose {dose_mg!r} mg is not allowed: enter the dose in mg, more than 0 and at most 1000")
    data: dict[str, Any] = {"drug": drug.strip(), "route": r.value, "dose_mg": float(dose_mg), "lot": lot.strip()}
    if device is not None:
        if not 1 <= device <= 3:
            raise ObservationError(f"Spravato device number {device} is not allowed: 1, 2 or 3 (28 mg each)")
        data["device"] = device
    return _obs(ObsKind.DOSE, t, author, data)


def moaas(t: float, author: str, score: int) -> Observation:
    try:
        s = check_moaas(score)
    except ValueError as exc:
        raise ObservationError(str(exc)) from None
    return _obs(ObsKind.MOAAS, t, author, {"score": s, "scale": MOAAS_NAME, "definition": MOAAS_LEVELS[s]})


def cadss(t: float, author: str, items: Sequence[int], baseline_total: int | None = None) -> Observation:
    try:
        sc = score_cadss(items)
    except ValueError as exc:
        raise ObservationError(str(exc)) from None
    return _obs(
        ObsKind.CADSS,
        t,
        author,
        {
            "items": list(sc.items),
            "total": sc.total,
            "cadss6": sc.short6,
            "dissociation": sc.dissociation_present(baseline_total),
        },
    )


def rass(t: float, author: str, score: int) -> Observation:
    try:
        s = check_rass(score)
    except ValueError as exc:
        raise ObservationError(str(exc)) from None
    return _obs(ObsKind.RASS, t, author, {"score": s, "definition": RASS_LEVELS[s]})


def adverse_event(
    t: float,
    author: str,
    *,
    items: Sequence[str],
    other: str = "",
    onset_t: float | None = None,
    intervention: str = "",
    serious: bool = False,
) -> Observation:
    """``t``: when it was recorded; ``onset_t``: when it began (defaults to ``t``)."""
    chosen = list(dict.fromkeys(items))
    unknown = [i for i in chosen if i not in AE_ITEMS]
    if unknown:
        raise ObservationError(f"unknown adverse event(s) {unknown}: choose from {', '.join(AE_ITEMS)}")
    if not chosen:
        raise ObservationError("tick at least one adverse event")
    if "other" in chosen and not other.strip():
        raise ObservationError("'Other' needs a short description")
    onset = float(t if onset_t is None else onset_t)
    if onset > t + FUTURE_TOLERANCE_S:
        raise ObservationError("the onset cannot be after the time it is recorded")
    data = {
        "items": chosen,
        "other": other.strip(),
        "onset_t": onset,
        "intervention": intervention.strip(),
        "serious": bool(serious),
    }
    return _obs(ObsKind.ADVERSE_EVENT, t, author, data)


def _text(kind: ObsKind, t: float, author: str, text: str, what: str) -> Observation:
    if not text.strip():
        raise ObservationError(f"{what} is empty: type what happened")
    if len(text) > 2000:
        raise ObservationError(f"{what} is too long: at most 2000 characters")
    return _obs(kind, t, author, {"text": text.strip()})


def note(t: float, author: str, text: str) -> Observation:
    return _text(ObsKind.NOTE, t, author, text, "the note")


def intervention(t: float, author: str, text: str) -> Observation:
    return _text(ObsKind.INTERVENTION, t, author, text, "the intervention")


def therapy(t: float, author: str, text: str) -> Observation:
    return _text(ObsKind.THERAPY, t, author, text, "the therapy marker")


def phase(t: float, author: str, name: str) -> Observation:
    if name not in PHASES:
        raise ObservationError(f"phase {name!r} is not known: use one of {', '.join(PHASES)}")
    return _obs(ObsKind.PHASE, t, author, {"phase": name})


def manual_vitals(t: float, author: str, values: Mapping[str, float | None]) -> Observation:
    """BP (both or neither), HR, SpO2, RR with the time measured; at least one value."""
    vals = {k: float(v) for k, v in values.items() if v is not None}
    unknown = set(vals) - set(VITAL_RANGES)
    if unknown:
        raise ObservationError(f"unknown vital sign(s) {sorted(unknown)}: allowed {', '.join(VITAL_RANGES)}")
    if not vals:
        raise ObservationError("enter at least one value (BP, HR, SpO₂ or RR)")
    if ("nibp_sys" in vals) != ("nibp_dia" in vals):
        raise ObservationError("a blood pressure needs both systolic and diastolic")
    for k, v in vals.items():
        lo, hi, name = VITAL_RANGES[k]
        if not (math.isfinite(v) and lo <= v <= hi):
            raise ObservationError(f"{name} {v:g} is outside the accepted range {lo:g}–{hi:g}")
    if "nibp_sys" in vals and vals["nibp_sys"] <= vals["nibp_dia"]:
        raise ObservationError(
            f"systolic {vals['nibp_sys']:g} must be higher than diastolic {vals['nibp_dia']:g}: check the order"
        )
    return _obs(ObsKind.MANUAL_VITALS, t, author, {"values": vals})


def predose_checklist(t: float, author: str, answers: Mapping[str, bool]) -> Observation:
    missing = [q for k, q in PREDOSE_ITEMS.items() if k not in answers]
    if missing:
        raise ObservationError(f"answer every question of the pre-dose checklist; missing: {', '.join(missing)}")
    return _obs(ObsKind.PREDOSE_CHECKLIST, t, author, {"answers": {k: bool(answers[k]) for k in PREDOSE_ITEMS}})


def bp_caution_ack(t: float, author: str, sys: float, dia: float, decision: str = "proceed") -> Observation:
    """A prescriber acknowledges a pre-dose BP above the caution threshold (requirement 14)."""
    return _obs(ObsKind.BP_CAUTION_ACK, t, author, {"sys": float(sys), "dia": float(dia), "decision": decision})


def discharge(t: float, author: str, checklist: Mapping[str, bool], ready_min: float | None = None) -> Observation:
    """``ready_min``: the nurse's answer to "when would the patient have been ready to leave?" (PMF)."""
    missing = [q for k, q in DISCHARGE_ITEMS.items() if not checklist.get(k, False)]
    if missing:
        raise ObservationError(f"discharge needs every checklist item confirmed; not yet: {', '.join(missing)}")
    if ready_min is not None and not (0 <= ready_min <= 24 * 60):
        raise ObservationError("'ready to leave' is minutes from the first dose, 0 to 1440")
    return _obs(ObsKind.DISCHARGE, t, author, {"checklist": {k: True for k in DISCHARGE_ITEMS}, "ready_min": ready_min})


def amendment(original: Observation, corrected: Observation, author: str, reason: str, root: str | None = None) -> Observation:
    """A correction of ``original``: a new record with the corrected content, author and reason."""
    if not reason.strip():
        raise ObservationError("an amendment needs a reason: say what was wrong")
    if corrected.kind is not original.kind:
        raise ObservationError(f"an amendment keeps the kind of the original ({original.kind.value})")
    return replace(
        corrected, author=_author(author), amends=root or original.obs_id, reason=reason.strip(), obs_id=uuid.uuid4().hex
    )


def check_time(t: float, started: float, now: float, ended: float | None = None) -> None:
    """An observation must lie within the session: not before its start, not in the future."""
    if t < started:
        raise ObservationError("the time is before the session started: enter a time during this session")
    if t > now + FUTURE_TOLERANCE_S:
        raise ObservationError("the time is in the future: enter when it was observed (now or earlier)")
    if ended is not None and t > ended:
        raise ObservationError("the time is after the session ended")


def describe(obs: Observation) -> str:
    """A short label for the event list and the plot markers."""
    d = obs.data
    k = obs.kind
    if k is ObsKind.DOSE:
        dev = f" device {d['device']}" if "device" in d else ""
        return f"Dose {d['drug']} {d['dose_mg']:g} mg {d['route']}{dev}"
    if k is ObsKind.MOAAS:
        return f"MOAA/S {d['score']}"
    if k is ObsKind.CADSS:
        return f"CADSS {d['total']} (CADSS-6 {d['cadss6']})" + (" dissociation" if d.get("dissociation") else "")
    if k is ObsKind.RASS:
        return f"RASS {d['score']:+d}"
    if k is ObsKind.ADVERSE_EVENT:
        names = [AE_ITEMS[i] if i != "other" else d.get("other", "other") for i in d["items"]]
        return "AE: " + ", ".join(names) + (" (SERIOUS)" if d.get("serious") else "")
    if k in (ObsKind.NOTE, ObsKind.INTERVENTION, ObsKind.THERAPY):
        prefix = {ObsKind.NOTE: "Note", ObsKind.INTERVENTION: "Intervention", ObsKind.THERAPY: "Therapy"}[k]
        return f"{prefix}: {d['text'][:40]}"
    if k is ObsKind.PHASE:
        return f"Phase: {d['phase']}"
    if k is ObsKind.MANUAL_VITALS:
        v = d["values"]
        parts = []
        if "nibp_sys" in v:
            parts.append(f"BP {v['nibp_sys']:g}/{v['nibp_dia']:g}")
        parts += [f"{lbl} {v[c]:g}" for c, lbl in (("hr", "HR"), ("spo2", "SpO₂"), ("rr", "RR")) if c in v]
        return "Manual " + " ".join(parts)
    if k is ObsKind.PREDOSE_CHECKLIST:
        return "Pre-dose checklist"
    if k is ObsKind.BP_CAUTION_ACK:
        return f"BP caution {d['sys']:g}/{d['dia']:g} acknowledged"
    return "Discharge"


class ObservationLog:
    """The session's observations in the order they were committed; append-only.

    ``current()`` is what counts clinically (each original replaced by its latest amendment);
    ``all()`` keeps every record, originals included.
    """

    def __init__(self) -> None:
        self._all: list[Observation] = []
        self._by_id: dict[str, Observation] = {}
        self._latest: dict[str, Observation] = {}  # root id -> latest version

    @classmethod
    def from_events(cls, events: Sequence[SessionEvent]) -> tuple[ObservationLog, list[SessionEvent]]:
        """The log rebuilt from a recorded session's ``observation`` / ``amendment`` events (the review,
        the exports and the report all read observations this way), and the events that could not be
        read or linked (shown or exported raw, never silently dropped)."""
        log = cls()
        unreadable: list[SessionEvent] = []
        for e in events:
            if e.kind in (EventKind.OBSERVATION, EventKind.AMENDMENT):
                try:
                    log.add(Observation.from_record(e.t, e.data))
                except (ObservationError, KeyError, ValueError, TypeError):
                    unreadable.append(e)
        return log, unreadable

    def add(self, obs: Observation) -> None:
        if obs.obs_id in self._by_id:
            raise ObservationError("this observation is already recorded")
        if obs.amends is not None and obs.amends not in self._by_id:
            raise ObservationError("the observation to amend is not in this session")
        self._all.append(obs)
        self._by_id[obs.obs_id] = obs
        self._latest[obs.amends or obs.obs_id] = obs

    def get(self, obs_id: str) -> Observation | None:
        return self._by_id.get(obs_id)

    def root_of(self, obs_id: str) -> str:
        obs = self._by_id[obs_id]
        return obs.amends or obs.obs_id

    def all(self) -> list[Observation]:
        return list(self._all)

    def current(self, kind: ObsKind | None = None) -> list[Observation]:
        """Latest version of every observation, by clinical time ``t``."""
        out = [o for root, o in self._latest.items() if kind is None or o.kind is kind]
        return sorted(out, key=lambda o: o.t)

    def amendments_of(self, root_id: str) -> list[Observation]:
        return [o for o in self._all if o.amends == root_id]

    def __len__(self) -> int:
        return len(self._all)
