"""Protocol templates (clinic-editable TOML under ``monitor/protocol_templates``) and the schedule
engine that turns a template, the session clock and what has been recorded into checkpoint states:
upcoming, due now, overdue, done (clinical.md requirements 3, 4, 6, 7, 12, 14).

Pure functions of their inputs, so every rule is testable on a FakeClock without threads or Qt.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from monitor.observations import Observation, ObsKind
from monitor.session import DosingProtocol, SessionInfo

TEMPLATE_DIR: Final = Path(__file__).with_name("protocol_templates")
#: Default prompt window around a timed checkpoint: opens this long before, overdue this long after.
DEFAULT_WINDOW_S: Final = 300.0


class CheckKind(enum.Enum):
    BP = "bp"
    MOAAS = "moaas"
    CADSS = "cadss"


class CheckState(enum.Enum):
    UPCOMING = "upcoming"
    DUE_NOW = "due now"
    OVERDUE = "overdue"
    DONE = "done"


_OBS_FOR: Final = {CheckKind.MOAAS: ObsKind.MOAAS, CheckKind.CADSS: ObsKind.CADSS}


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One planned observation. Times are seconds from t0; ``pre_dose`` ones are due before t0."""

    key: str
    kind: CheckKind
    label: str
    pre_dose: bool = False
    at_s: float = 0.0
    opens_s: float = 0.0
    overdue_s: float = 0.0
    source: str = ""
    required_for_discharge: bool = False


@dataclass(frozen=True, slots=True)
class BpRepeat:
    after_s: float
    every_s: float
    window_s: float


@dataclass(frozen=True, slots=True)
class ProtocolTemplate:
    protocol: DosingProtocol
    label: str
    drug: str
    route: str
    min_observation_s: float
    predose_bp_required: bool
    caution_sys: float
    caution_dia: float
    checkpoints: tuple[Checkpoint, ...]
    bp_repeat: BpRepeat | None = None
    device_mg: float | None = None  # Spravato: one record per device
    device_gap_s: float | None = None
    discharge_checklist: bool = True
    path: str = ""


@dataclass(frozen=True, slots=True)
class BpSample:
    t: float
    sys: float
    dia: float


@dataclass(frozen=True, slots=True)
class CheckpointStatus:
    checkpoint: Checkpoint
    state: CheckState
    due_t: float | None  # absolute time, None before t0 for timed checkpoints
    done_t: float | None = None

    @property
    def label(self) -> str:
        return self.checkpoint.label


@dataclass(frozen=True, slots=True)
class DischargeStatus:
    allowed: bool
    reasons: tuple[str, ...]  # why not yet, for the nurse
    unlock_t: float | None  # t0 + minimum observation


@dataclass(frozen=True, slots=True)
class ScheduleStatus:
    checkpoints: tuple[CheckpointStatus, ...]
    discharge: DischargeStatus
    prompts: tuple[CheckpointStatus, ...] = field(default=())  # due now or overdue, most urgent first


class DoseGateState(enum.Enum):
    OK = "ok"
    NEED_BP = "need pre-dose BP"
    NEED_ACK = "need prescriber acknowledgement"


@dataclass(frozen=True, slots=True)
class DoseGate:
    state: DoseGateState
    message: str = ""
    bp: BpSample | None = None


class TemplateError(ValueError):
    """A template file is wrong; the message names the file and the field."""


# ---- loading -------------------------------------------------------------------------------------


def _minutes_list(value: Any) -> list[float]:
    return [float(v) for v in (value if isinstance(value, list) else [value])]


def parse_template(doc: dict[str, Any], path: str = "<template>") -> ProtocolTemplate:
    try:
        protocol = DosingProtocol(doc["protocol"])
        min_obs = float(doc["min_observation_min"]) * 60.0
        cps: list[Checkpoint] = []
        for entry in doc.get("checkpoints", []):
            kind = CheckKind(entry["kind"])
            label = str(entry.get("label", kind.value))
            if entry.get("pre_dose", False):
                cps.append(Checkpoint(f"{kind.value}_pre", kind, label, pre_dose=True, source=str(entry.get("source", ""))))
                continue
            for m in _minutes_list(entry["at_min"]):
                at = m * 60.0
                opens = float(entry["opens_min"]) * 60.0 if "opens_min" in entry else at - DEFAULT_WINDOW_S
                overdue = float(entry["overdue_min"]) * 60.0 if "overdue_min" in entry else at + DEFAULT_WINDOW_S
                lbl = label if "{" not in label and not isinstance(entry["at_min"], list) else f"{label} T+{m:g}"
                cps.append(Checkpoint(f"{kind.value}_{m:g}", kind, lbl, False, at, opens, overdue, str(entry.get("source", ""))))
        for block in doc.get("bp_cadence", []):
            every = float(block["every_min"])
            m = float(block["from_min"])
            while m <= float(block["to_min"]) + 1e-9:
                at = m * 60.0
                half = min(DEFAULT_WINDOW_S, every * 30.0)
                cps.append(
                    Checkpoint(
                        f"bp_{m:g}", CheckKind.BP, f"BP T+{m:g}", False, at, at - half, at + half, str(block.get("source", ""))
                    )
                )
                m += every
        if "precompletion_bp_window_min" in doc:
            w = float(doc["precompletion_bp_window_min"]) * 60.0
            cps.append(
                Checkpoint(
                    "bp_completion",
                    CheckKind.BP,
                    "BP before discharge",
                    False,
                    min_obs,
                    min_obs - w,
                    min_obs + DEFAULT_WINDOW_S,
                    "REMS PMF: BP prior to session completion (clinical.md §1.2); requirement 3",
                    required_for_discharge=True,
                )
            )
        rep = doc.get("bp_repeat")
        repeat = None
        if rep is not None:
            repeat = BpRepeat(
                float(rep["after_min"]) * 60.0, float(rep["every_min"]) * 60.0, float(rep.get("window_min", 5)) * 60.0
            )
        return ProtocolTemplate(
            protocol=protocol,
            label=str(doc.get("label", protocol.label)),
            drug=str(doc["drug"]),
            route=str(doc["route"]),
            min_observation_s=min_obs,
            predose_bp_required=bool(doc.get("predose_bp_required", False)),
            caution_sys=float(doc["caution_sys"]),
            caution_dia=float(doc["caution_dia"]),
            checkpoints=tuple(sorted(cps, key=lambda c: (not c.pre_dose, c.at_s))),
            bp_repeat=repeat,
            device_mg=float(doc["device_mg"]) if "device_mg" in doc else None,
            device_gap_s=float(doc["device_gap_min"]) * 60.0 if "device_gap_min" in doc else None,
            discharge_checklist=bool(doc.get("discharge_checklist", True)),
            path=path,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise TemplateError(f"protocol template {path}: {exc!r}") from exc


def load_templates(folder: Path | None = None) -> dict[DosingProtocol, ProtocolTemplate]:
    """Every ``*.toml`` in ``folder`` (default: the shipped templates), keyed by protocol."""
    out: dict[DosingProtocol, ProtocolTemplate] = {}
    for path in sorted((folder or TEMPLATE_DIR).glob("*.toml")):
        with path.open("rb") as f:
            tpl = parse_template(tomllib.load(f), str(path))
        out[tpl.protocol] = tpl
    return out


# ---- evaluation ----------------------------------------------------------------------------------


def _high(tpl: ProtocolTemplate, bp: BpSample) -> bool:
    return bp.sys > tpl.caution_sys or bp.dia > tpl.caution_dia


def _times(kind: CheckKind, obs: Sequence[Observation], bps: Sequence[BpSample]) -> list[float]:
    if kind is CheckKind.BP:
        return sorted(b.t for b in bps)
    return sorted(o.t for o in obs if o.kind is _OBS_FOR[kind])


def dose_gate(tpl: ProtocolTemplate | None, info: SessionInfo, obs: Sequence[Observation], bps: Sequence[BpSample]) -> DoseGate:
    """May t0 be set now? A pre-dose BP must exist; one above the caution threshold needs a
    prescriber's acknowledgement recorded after it (requirements 3 and 14)."""
    if tpl is None or not tpl.predose_bp_required:
        return DoseGate(DoseGateState.OK)
    pre = [b for b in bps if b.t >= info.started]
    if not pre:
        return DoseGate(
            DoseGateState.NEED_BP,
            f"{tpl.label}: a pre-dose blood pressure is required before the first dose — take a cuff reading or enter a manual BP",
        )
    last = max(pre, key=lambda b: b.t)
    if _high(tpl, last):
        acks = [o for o in obs if o.kind is ObsKind.BP_CAUTION_ACK and o.t >= last.t]
        if not acks:
            return DoseGate(
                DoseGateState.NEED_ACK,
                f"pre-dose BP {last.sys:g}/{last.dia:g} is above {tpl.caution_sys:g}/{tpl.caution_dia:g}: "
                "a prescriber must acknowledge the caution before dosing",
                last,
            )
    return DoseGate(DoseGateState.OK, bp=last)


def evaluate(
    tpl: ProtocolTemplate, info: SessionInfo, now: float, obs: Sequence[Observation], bps: Iterable[BpSample]
) -> ScheduleStatus:
    """Checkpoint states and the discharge lock at ``now`` (session clock)."""
    bp_list = sorted((b for b in bps if b.t >= info.started), key=lambda b: b.t)
    t0 = info.t0
    out: list[CheckpointStatus] = []
    timed = [c for c in tpl.checkpoints if not c.pre_dose]
    for cp in tpl.checkpoints:
        times = _times(cp.kind, obs, bp_list)
        if cp.pre_dose:
            before = [t for t in times if t0 is None or t < t0]
            if before:
                out.append(CheckpointStatus(cp, CheckState.DONE, None, before[-1]))
            else:
                out.append(CheckpointStatus(cp, CheckState.DUE_NOW if t0 is None else CheckState.OVERDUE, info.started))
            continue
        if t0 is None:
            out.append(CheckpointStatus(cp, CheckState.UPCOMING, None))
            continue
        # A timed checkpoint is satisfied by the first record in its window, which runs until the next
        # checkpoint of the same kind opens; the pre-discharge BP accepts anything from its opening.
        later = [c.opens_s for c in timed if c.kind is cp.kind and c.opens_s > cp.opens_s and not c.required_for_discharge]
        end = t0 + min(later) if later and not cp.required_for_discharge else float("inf")
        if cp.required_for_discharge:
            hit = [t for t in times if t >= t0 + cp.opens_s]
            out.append(_state(cp, t0, now, hit[-1] if hit else None))
            continue
        hit = [t for t in times if t0 + cp.opens_s <= t < end]
        out.append(_state(cp, t0, now, hit[0] if hit else None))
    if t0 is not None and tpl.bp_repeat is not None:
        out.extend(_repeats(tpl, tpl.bp_repeat, t0, now, bp_list))
    discharge = _discharge(tpl, info, now, out, obs)
    prompts = sorted(
        (s for s in out if s.state in (CheckState.DUE_NOW, CheckState.OVERDUE)),
        key=lambda s: (s.state is not CheckState.OVERDUE, s.due_t or 0.0),
    )
    return ScheduleStatus(tuple(out), discharge, tuple(prompts))


def _state(cp: Checkpoint, t0: float, now: float, done_t: float | None) -> CheckpointStatus:
    due = t0 + cp.at_s
    if done_t is not None:
        return CheckpointStatus(cp, CheckState.DONE, due, done_t)
    if now < t0 + cp.opens_s:
        return CheckpointStatus(cp, CheckState.UPCOMING, due)
    if now <= t0 + cp.overdue_s:
        return CheckpointStatus(cp, CheckState.DUE_NOW, due)
    return CheckpointStatus(cp, CheckState.OVERDUE, due)


def _repeats(tpl: ProtocolTemplate, rep: BpRepeat, t0: float, now: float, bps: list[BpSample]) -> list[CheckpointStatus]:
    """While the last BP after T+``after`` is above the threshold, another BP is due ``every`` later."""
    start = [c for c in tpl.checkpoints if c.kind is CheckKind.BP and not c.pre_dose and c.at_s == rep.after_s]
    opens = t0 + (start[0].opens_s if start else rep.after_s - rep.window_s)
    after = [b for b in bps if b.t >= opens]
    if not after:
        return []
    last = after[0]
    out: list[CheckpointStatus] = []
    n = 0
    while _high(tpl, last) and n < 100:
        n += 1
        due = last.t + rep.every_s
        cp = Checkpoint(
            f"bp_repeat_{n}",
            CheckKind.BP,
            f"BP repeat {n} (last {last.sys:g}/{last.dia:g})",
            False,
            due - t0,
            due - t0 - rep.window_s,
            due - t0 + rep.window_s,
            "label: reassess until values decline (clinical.md §1.3); requirement 3",
        )
        nxt = [b for b in bps if b.t >= due - rep.window_s]
        if not nxt:
            out.append(_state(cp, t0, now, None))
            break
        out.append(_state(cp, t0, now, nxt[0].t))
        last = nxt[0]
    return out


def _discharge(
    tpl: ProtocolTemplate, info: SessionInfo, now: float, states: list[CheckpointStatus], obs: Sequence[Observation]
) -> DischargeStatus:
    if info.t0 is None:
        return DischargeStatus(False, ("no dose has been given yet",), None)
    unlock = info.t0 + tpl.min_observation_s
    reasons: list[str] = []
    if any(o.kind is ObsKind.DISCHARGE for o in obs):
        reasons.append("the patient has already been discharged")
    if now < unlock:
        left = (unlock - now) / 60.0
        reasons.append(f"minimum observation is {tpl.min_observation_s / 60:g} min from the first dose ({left:.0f} min to go)")
    for s in states:
        if s.checkpoint.required_for_discharge and s.state is not CheckState.DONE:
            reasons.append(f"{s.label} is still needed")
    return DischargeStatus(not reasons, tuple(reasons), unlock)
