"""Alarm rules and the presets per dosing protocol, with the source of every default.

A default is only a number where ``shared/reference/clinical.md`` gives one; where it gives none
the rule ships switched off (``limit=None``) or the value is marked as an engineering choice, and
the clinic's responsible organization sets it (clinical.md: all alarm defaults are [clinic-config]).
``preset_table()`` lists everything with its source for the IFU / configuration audit
(requirements 19 and 34).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Final

from monitor.alarms.model import AlarmPriority
from monitor.channels import CHANNELS
from monitor.session import DosingProtocol


class Comparison(enum.Enum):
    ABOVE = ">"
    AT_OR_ABOVE = "≥"
    BELOW = "<"
    AT_OR_BELOW = "≤"

    @property
    def is_high(self) -> bool:
        """True for an upper limit (value too high)."""
        return self in (Comparison.ABOVE, Comparison.AT_OR_ABOVE)

    def test(self, value: float, limit: float) -> bool:
        if self is Comparison.ABOVE:
            return value > limit
        if self is Comparison.AT_OR_ABOVE:
            return value >= limit
        if self is Comparison.BELOW:
            return value < limit
        return value <= limit


class Relative(enum.Enum):
    """A limit relative to the patient's pre-dose baseline."""

    ABSOLUTE = "absolute"  # the limit is the threshold itself
    BASELINE_PLUS = "baseline_plus"  # threshold = baseline + limit (same unit)
    BASELINE_PERCENT = "baseline_percent"  # threshold = baseline × (1 + limit / 100)


#: Observations entered by the nurse that alarm like channels (MOAA/S arrives with issue 6):
#: code → (label, valid range).
OBSERVATIONS: Final[dict[str, tuple[str, tuple[float, float]]]] = {"moaas": ("MOAA/S", (0.0, 5.0))}

#: Symptoms of a hypertensive crisis the nurse can tick (clinical.md requirement 15; label §1.3:
#: "refer symptoms of hypertensive crisis ... for emergency care"): code → label.
CRISIS_SYMPTOMS: Final[dict[str, str]] = {
    "chest_pain": "chest pain",
    "dyspnoea": "dyspnoea",
    "severe_headache": "severe headache",
    "visual_change": "visual change",
    "neuro_deficit": "neurological deficit",
}
#: The severe-hypertension conditions that a ticked crisis symptom escalates to HIGH (requirement 15).
CRISIS_CONDITIONS: Final = ("sbp_high", "dbp_high")
CRISIS_PROMPT: Final = "refer for emergency care"
CRISIS_SOURCE: Final = (
    "req. 15: SBP ≥ 180 or DBP ≥ 110 plus a crisis symptom → HIGH with 'refer for emergency care' (label, clinical.md §1.3)"
)
#: The HR rules the medical director confirms once per workstation (requirement 17).
HR_RULES: Final = ("hr_low", "hr_high")

#: Short labels for alarm messages ("SBP 186 ≥ 180"); other channels use the registry label.
MESSAGE_LABELS: Final[dict[str, str]] = {
    "nibp_sys": "SBP",
    "nibp_dia": "DBP",
    "nibp_map": "MAP",
    "abp_sys": "ART SBP",
    "abp_dia": "ART DBP",
    "abp_map": "ART MAP",
}


def message_label(code: str) -> str:
    if code in MESSAGE_LABELS:
        return MESSAGE_LABELS[code]
    if code in OBSERVATIONS:
        return OBSERVATIONS[code][0]
    return CHANNELS[code].label


def value_range(code: str) -> tuple[float, float]:
    """Where a limit may lie: the channel's display range (an observation's scale)."""
    if code in OBSERVATIONS:
        return OBSERVATIONS[code][1]
    lo, hi = CHANNELS[code].display_range
    return float(lo), float(hi)


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One physiological rule. Rules sharing ``condition`` form one alarm condition whose priority
    is the highest violated rule's (SpO2 < 93 MEDIUM escalating to SpO2 ≤ 90 HIGH)."""

    rule_id: str
    condition: str
    label: str  # for the limits dialog: "SpO₂ low (desaturation)"
    channels: tuple[str, ...]
    comparison: Comparison
    limit: float | None  # None: switched off (no default in the reference)
    priority: AlarmPriority
    source: str  # where the default comes from
    relative: Relative = Relative.ABSOLUTE
    consecutive: int = 1  # violating valid readings in a row before the condition exists
    delay_s: float = 0.0  # condition delay: the violation must last this long (session seconds)
    hysteresis: float = 0.0  # the value must come back this far inside the limit to clear
    latching: bool = False
    bounds: tuple[float, float] | None = None  # operators may set the limit within these

    def threshold(self, baseline: float | None) -> float | None:
        """The absolute threshold now; None when switched off or waiting for a baseline."""
        if self.limit is None:
            return None
        if self.relative is Relative.ABSOLUTE:
            return self.limit
        if baseline is None:
            return None
        if self.relative is Relative.BASELINE_PLUS:
            return baseline + self.limit
        return baseline * (1.0 + self.limit / 100.0)

    def clear_threshold(self, threshold: float) -> float:
        """Once raised, the rule stays violated until the value is ``hysteresis`` inside the limit."""
        return threshold - self.hysteresis if self.comparison.is_high else threshold + self.hysteresis


class TechnicalKind(enum.Enum):
    LINK = "link"  # device lost, or connected but silent (the core's link watch)
    SENSOR_OFF = "sensor_off"  # readings flagged PROBE_OFF / SENSOR_FAULT
    ARTEFACT = "artefact"  # readings flagged ARTEFACT: implausible value
    IMPLAUSIBLE = "implausible"  # a value outside its channel's plausibility range (monitor.plausibility)
    NO_DATA = "no_data"  # a quasi-continuous channel older than its stale limit
    OVERDUE = "overdue"  # an episodic (cuff) reading older than its schedule
    AUDIO = "audio"  # the alarm sound cannot be played
    RECORDER = "recorder"  # the recording fails to write
    CONFIGURATION = "configuration"  # a setting awaits the medical director (HR limits, req. 17)
    ALARM_SYSTEM = "alarm_system"  # the alarm watchdog saw the alarm tick or the display stop (req. 25)


@dataclass(frozen=True, slots=True)
class TechnicalSpec:
    kind: TechnicalKind
    priority: AlarmPriority
    source: str
    delay_s: float = 0.0


_ENGINEERING: Final = "engineering choice, no clinical source (clinical.md §4.1: priority by risk management) [clinic-config]"
_NO_SOURCE: Final = "no default in clinical.md: switched off until the clinic sets it [clinic-config]"
_HYSTERESIS: Final = (
    "hysteresis 1 %: engineering choice against flapping of a 1 Hz value at the limit, no number in clinical.md [clinic-config]"
)


@dataclass(frozen=True, slots=True)
class AlarmPreset:
    """The alarm configuration of one protocol; a session starts from it and may override limits."""

    name: str
    protocol: DosingProtocol | None
    rules: tuple[LimitRule, ...]
    technical: tuple[TechnicalSpec, ...]
    numeric_stale_s: float = 30.0
    audio_pause_s: float = 120.0
    alarm_pause_s: float = 120.0
    reminder_interval_s: float = 120.0
    sources: dict[str, str] = field(default_factory=dict)

    def rule(self, rule_id: str) -> LimitRule:
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        raise KeyError(f"no alarm rule {rule_id!r} in preset {self.name!r}")

    def technical_spec(self, kind: TechnicalKind) -> TechnicalSpec:
        for t in self.technical:
            if t.kind is kind:
                return t
        raise KeyError(kind)

    def with_rule(self, rule: LimitRule) -> AlarmPreset:
        return replace(self, rules=tuple(rule if r.rule_id == rule.rule_id else r for r in self.rules))


def _rules() -> tuple[LimitRule, ...]:
    sbp, dbp = ("nibp_sys", "abp_sys"), ("nibp_dia", "abp_dia")
    hr = ("hr", "pr")
    return (
        LimitRule(
            "spo2_below_93",
            "spo2_low",
            "SpO₂ low, 2 consecutive",
            ("spo2",),
            Comparison.BELOW,
            93.0,
            AlarmPriority.MEDIUM,
            "req. 16: SpO2 < 93 % on ≥ 2 consecutive assessments, esketamine Phase 3 flag (clinical.md §1.3); " + _HYSTERESIS,
            consecutive=2,
            hysteresis=1.0,
        ),
        LimitRule(
            "spo2_at_or_below_90",
            "spo2_low",
            "SpO₂ desaturation",
            ("spo2",),
            Comparison.AT_OR_BELOW,
            90.0,
            AlarmPriority.HIGH,
            "req. 16: SpO2 ≤ 90 %, sedation-literature desaturation and common monitor default (clinical.md §2.1, §2.3); "
            "latching per req. 24; " + _HYSTERESIS,
            latching=True,
            hysteresis=1.0,
        ),
        LimitRule(
            "sbp_high",
            "sbp_high",
            "SBP high (severe hypertension)",
            sbp,
            Comparison.AT_OR_ABOVE,
            180.0,
            AlarmPriority.MEDIUM,
            "req. 15: SBP ≥ 180 mmHg = severe hypertension (Hebert & Vidt 2008; Del Sant 2020; clinical.md §2.3)",
        ),
        LimitRule(
            "dbp_high",
            "dbp_high",
            "DBP high (severe hypertension)",
            dbp,
            Comparison.AT_OR_ABOVE,
            110.0,
            AlarmPriority.MEDIUM,
            "req. 15: DBP ≥ 110 mmHg = severe hypertension (clinical.md §2.3)",
        ),
        LimitRule(
            "hr_low",
            "hr_low",
            "HR / PR low",
            hr,
            Comparison.BELOW,
            50.0,
            AlarmPriority.MEDIUM,
            "req. 17: 50 /min, common monitor factory default (EDAN M3A, Contec CMS8000; clinical.md §2.3); "
            "not ketamine-specific: the medical director confirms it",
        ),
        LimitRule(
            "hr_high",
            "hr_high",
            "HR / PR high",
            hr,
            Comparison.ABOVE,
            120.0,
            AlarmPriority.MEDIUM,
            "req. 17: 120 /min, common monitor factory default (clinical.md §2.3); not ketamine-specific",
        ),
        LimitRule(
            "sbp_rise_mmhg",
            "sbp_rise",
            "SBP rise over pre-dose baseline (mmHg)",
            ("nibp_sys",),
            Comparison.ABOVE,
            None,
            AlarmPriority.MEDIUM,
            _NO_SOURCE + "; mean rise is +12.6 mmHg (clinical.md §2.3), no threshold is published",
            relative=Relative.BASELINE_PLUS,
            bounds=(1.0, 100.0),
        ),
        LimitRule(
            "sbp_rise_pct",
            "sbp_rise",
            "SBP rise over pre-dose baseline (%)",
            ("nibp_sys",),
            Comparison.ABOVE,
            None,
            AlarmPriority.MEDIUM,
            _NO_SOURCE,
            relative=Relative.BASELINE_PERCENT,
            bounds=(1.0, 100.0),
        ),
        LimitRule(
            "rr_low",
            "rr_low",
            "RR low",
            ("rr",),
            Comparison.BELOW,
            None,
            AlarmPriority.MEDIUM,
            _NO_SOURCE + "; orientation only: LIFEPAK 15 factory default 5 /min (clinical.md §2.3)",
        ),
        LimitRule(
            "rr_high",
            "rr_high",
            "RR high",
            ("rr",),
            Comparison.ABOVE,
            None,
            AlarmPriority.MEDIUM,
            _NO_SOURCE + "; orientation only: LIFEPAK 15 factory default 30 /min (clinical.md §2.3)",
        ),
        LimitRule(
            "moaas_at_or_below_3",
            "moaas_low",
            "MOAA/S moderate sedation",
            ("moaas",),
            Comparison.AT_OR_BELOW,
            3.0,
            AlarmPriority.MEDIUM,
            "req. 18: MOAA/S ≤ 3 = moderate-or-greater sedation (clinical.md §1.3, §3.2)",
        ),
        LimitRule(
            "moaas_at_or_below_1",
            "moaas_low",
            "MOAA/S deep sedation",
            ("moaas",),
            Comparison.AT_OR_BELOW,
            1.0,
            AlarmPriority.HIGH,
            "req. 18: MOAA/S ≤ 1 (clinical.md §1.3, §3.2); latching per req. 24",
            latching=True,
        ),
    )


def _technical() -> tuple[TechnicalSpec, ...]:
    return (
        TechnicalSpec(
            TechnicalKind.LINK, AlarmPriority.MEDIUM, "req. 25: data-path failure → technical alarm within 10 s; " + _ENGINEERING
        ),
        TechnicalSpec(
            TechnicalKind.SENSOR_OFF,
            AlarmPriority.MEDIUM,
            "req. 16: loss of SpO2 signal / probe-off → technical alarm; " + _ENGINEERING,
        ),
        TechnicalSpec(
            TechnicalKind.NO_DATA, AlarmPriority.MEDIUM, "req. 16: stale data > 30 s → technical alarm; " + _ENGINEERING
        ),
        TechnicalSpec(
            TechnicalKind.OVERDUE, AlarmPriority.LOW, "req. 3 / 26: an overdue cuff reading is a low-priority technical reminder"
        ),
        TechnicalSpec(TechnicalKind.ARTEFACT, AlarmPriority.LOW, "device-flagged artefact: value implausible; " + _ENGINEERING),
        TechnicalSpec(
            TechnicalKind.IMPLAUSIBLE,
            AlarmPriority.LOW,
            "issue 13: a value outside its channel's plausibility range is a device or transmission fault, "
            "not shown and not alarmed on; LOW like a device-flagged artefact; " + _ENGINEERING,
        ),
        TechnicalSpec(
            TechnicalKind.AUDIO,
            AlarmPriority.MEDIUM,
            "req. 25 / §4.5: failure of the alarm system must be signalled; " + _ENGINEERING,
        ),
        TechnicalSpec(TechnicalKind.RECORDER, AlarmPriority.MEDIUM, "req. 27-28: the record must be kept; " + _ENGINEERING),
        TechnicalSpec(
            TechnicalKind.CONFIGURATION,
            AlarmPriority.LOW,
            "req. 17: HR limits have no ketamine-specific source; the medical director confirms them once per workstation",
        ),
        TechnicalSpec(
            TechnicalKind.ALARM_SYSTEM,
            AlarmPriority.HIGH,
            "req. 25 / §4.5: failure of the alarm system is signalled (plus an OS-level fallback tone ≥ 120 s); " + _ENGINEERING,
        ),
    )


PRESET_SOURCES: Final[dict[str, str]] = {
    "numeric_stale_s": "req. 16: stale SpO2 data > 30 s (clinical.md); applied to every quasi-continuous channel",
    "episodic_stale_s": "req. 26: a cuff reading older than its interval (the device's own schedule + cycle slack)",
    "audio_pause_s": "req. 23: AUDIO PAUSED default 120 s (Dräger Infinity 2 min, clinical.md §4.5 ◐)",
    "alarm_pause_s": "no number in clinical.md (§7 open question 4): same as AUDIO PAUSED [clinic-config]",
    "reminder_interval_s": "req. 23: interval configurable, no number in clinical.md: same as the audio pause [clinic-config]",
    "delay_s": "no default condition delay in clinical.md (§4.5 must be disclosed; oximeters allow 0-30 s, §4.6): 0 s [clinic-config]",
    "hysteresis": "no number in clinical.md: 0, except SpO2 1 % (engineering choice) [clinic-config]",
}

_PRESET_NAMES: Final = {
    DosingProtocol.SPRAVATO: "Spravato (REMS)",
    DosingProtocol.KETAMINE_IV: "Ketamine IV",
    DosingProtocol.KETAMINE_IM: "Ketamine IM",
    DosingProtocol.KETAMINE_SL: "Ketamine SL / PO",
}


def preset_for(protocol: DosingProtocol | None) -> AlarmPreset:
    """The preset of a protocol. clinical.md gives no protocol-specific alarm numbers (§2.1: no
    society fixes thresholds for ketamine clinics), so every protocol starts from the same sourced
    defaults; the preset exists per protocol so a clinic can differ."""
    name = "Default" if protocol is None else _PRESET_NAMES[protocol]
    return AlarmPreset(name, protocol, _rules(), _technical(), sources=dict(PRESET_SOURCES))


def preset_table(preset: AlarmPreset) -> list[dict[str, object]]:
    """Every rule with priority, category, delay, latching and source (requirements 19, 34)."""
    rows: list[dict[str, object]] = []
    for r in preset.rules:
        rows.append(
            {
                "rule": r.rule_id,
                "condition": r.condition,
                "category": "physiological",
                "channels": list(r.channels),
                "comparison": r.comparison.value,
                "limit": r.limit,
                "relative": r.relative.value,
                "priority": r.priority.name,
                "consecutive": r.consecutive,
                "delay_s": r.delay_s,
                "hysteresis": r.hysteresis,
                "latching": r.latching,
                "source": r.source,
            }
        )
    rows.append(
        {
            "rule": "hypertensive_crisis",
            "condition": " / ".join(CRISIS_CONDITIONS),
            "category": "physiological",
            "channels": ["nibp_sys", "nibp_dia", "abp_sys", "abp_dia"],
            "comparison": "escalation",
            "limit": None,
            "relative": Relative.ABSOLUTE.value,
            "priority": AlarmPriority.HIGH.name,
            "consecutive": 1,
            "delay_s": 0.0,
            "hysteresis": 0.0,
            "latching": False,
            "source": CRISIS_SOURCE + "; symptoms: " + ", ".join(CRISIS_SYMPTOMS.values()),
        }
    )
    for t in preset.technical:
        rows.append(
            {
                "rule": t.kind.value,
                "category": "technical",
                "priority": t.priority.name,
                "delay_s": t.delay_s,
                "latching": False,
                "source": t.source,
            }
        )
    return rows
