"""The alarm engine: turns readings, device states, technical notices and the session clock into
alarm conditions, their priorities and the alarm signals' state.

Qt-free and single-threaded: the core thread owns it (``Core`` serialises operator actions from
the GUI thread with a lock). Every input method returns the ``AlarmEvent``s it caused (the alarm
log); ``snapshot(now)`` gives the ``AlarmState`` the signals follow, and ``version`` changes whenever
that snapshot would. Time only advances through the ``t`` / ``now`` arguments (reading times and
``tick(now)`` from the session clock), so every rule runs the same on a ``FakeClock``.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from monitor.alarms.model import (
    AlarmCategory,
    AlarmCondition,
    AlarmEvent,
    AlarmPriority,
    AlarmSettingError,
    AlarmState,
    ConditionState,
    Inactivation,
    Role,
    Transition,
)
from monitor.alarms.rules import (
    CRISIS_CONDITIONS,
    CRISIS_PROMPT,
    CRISIS_SYMPTOMS,
    HR_RULES,
    AlarmPreset,
    LimitRule,
    Relative,
    TechnicalKind,
    message_label,
    preset_for,
    value_range,
)
from monitor.channels import CHANNELS, NIBP_CHANNELS, ChannelKind, implausible
from monitor.events import NoticeLevel, TechnicalNotice
from monitor.readings import DeviceStatus, Flag, LinkState, Quality, Reading

log = logging.getLogger(__name__)

#: TechnicalNotice keys that are alarm conditions: the recorder's, and the GUI's sound check.
AUDIO_NOTICE_KEY: Final = "alarm-audio"
#: The app's alarm watchdog (requirement 25): the alarm tick or the display stopped.
WATCHDOG_NOTICE_KEY: Final = "alarm-watchdog"
NOTICE_KINDS: Final[dict[str, TechnicalKind]] = {
    "recorder": TechnicalKind.RECORDER,
    "recorder.backlog": TechnicalKind.RECORDER,
    AUDIO_NOTICE_KEY: TechnicalKind.AUDIO,
    WATCHDOG_NOTICE_KEY: TechnicalKind.ALARM_SYSTEM,
}


def shown_as_alarm(notice_key: str) -> bool:
    """Technical notices the alarm system turns into alarm conditions (device links, recorder, sound,
    watchdog): the alarm bar and list show them, so a notice banner need not repeat them."""
    return notice_key in NOTICE_KINDS or notice_key.startswith("device:")


#: The technical condition shown until the medical director confirms the HR limits (requirement 17).
HR_CONFIRM_KEY: Final = "config:hr_limits"
HR_UNCONFIRMED_MESSAGE: Final = "HR alarm limits not yet confirmed by the medical director — open Limits…"
#: A numeric channel's baseline is the median of its valid readings in this window before t0;
#: an episodic channel's (cuff) is its last pre-dose reading, as the PMF records it (clinical.md §1.2).
BASELINE_WINDOW_S: Final = 60.0
#: Readings with these flags never raise a physiological alarm (they raise the technical one).
_UNUSABLE: Final = Flag.PROBE_OFF | Flag.ARTEFACT | Flag.SENSOR_FAULT | Flag.NO_VALUE
#: Rule fields only the responsible organization may change (clinical.md requirement 24).
_RESTRICTED: Final = ("priority", "latching", "delay_s", "hysteresis", "consecutive")


@dataclass
class _RuleState:
    count: int = 0  # violating readings in a row
    since: float | None = None  # time of the first of them
    raised: bool = False  # the rule's condition exists
    latched: bool = False  # raised by a latching rule and not yet acknowledged
    value: float = math.nan
    threshold: float = math.nan


@dataclass
class _Condition:
    key: str
    category: AlarmCategory
    priority: AlarmPriority
    message: str
    since: float
    channel: str | None = None
    value: float | None = None
    limit: float | None = None
    latching: bool = False
    present: bool = True
    acknowledged: bool = False
    breaks_through: bool = False  # raised above the pause ceiling: sounds despite a pause


@dataclass
class _Pending:
    """A technical condition waiting for its condition delay."""

    kind: TechnicalKind
    since: float
    message: str
    channel: str | None = None


@dataclass
class _Source:
    label: str
    stale_after_s: float | None = None
    flags: dict[str, Flag] = field(default_factory=dict)  # channel → flags of its latest reading
    values: dict[str, float] = field(default_factory=dict)  # channel → latest value
    stopped: bool = False


class AlarmEngine:
    def __init__(self, preset: AlarmPreset | None = None, stale_grace_s: float = 0.0) -> None:
        """``stale_grace_s``: a channel is never called stale before this much session time; the
        core sets it from the clock speed so delivery in bursts at 600x is not "no data"."""
        self._preset = preset or preset_for(None)
        self._stale_grace_s = stale_grace_s
        self._index_rules()
        self._states: dict[tuple[str, str], _RuleState] = {}
        self._conditions: dict[str, _Condition] = {}
        self._pending: dict[str, _Pending] = {}
        self._sources: dict[str, _Source] = {}
        self._last_seen: dict[str, tuple[str, float]] = {}  # channel → (source, t) of its latest reading
        self._last_valid: dict[str, tuple[float, float]] = {}  # channel → (t, value) of its latest usable reading
        self._pre_dose: dict[str, deque[tuple[float, float]]] = {}
        self._baseline: dict[str, float] = {}
        self._t0: float | None = None
        self._inact = Inactivation.NONE
        self._inact_since: float | None = None
        self._inact_until: float | None = None
        self._ceiling: AlarmPriority | None = None
        self._next_reminder: float | None = None
        self._events: list[AlarmEvent] = []
        self._symptoms: frozenset[str] = frozenset()  # crisis symptoms the nurse ticked (requirement 15)
        self._hr_confirmation: dict[str, Any] | None = None  # who confirmed the HR limits, when (requirement 17)
        self.version = 0

    # ---- configuration -----------------------------------------------------------------------
    @property
    def preset(self) -> AlarmPreset:
        return self._preset

    @property
    def baseline(self) -> dict[str, float]:
        """Pre-dose baselines per channel (empty before t0)."""
        return dict(self._baseline)

    def _index_rules(self) -> None:
        self._by_channel: dict[str, list[LimitRule]] = {}
        for rule in self._preset.rules:
            for code in rule.channels:
                self._by_channel.setdefault(code, []).append(rule)

    def start_session(self, preset: AlarmPreset, now: float, user: str = "") -> list[AlarmEvent]:
        """A new patient: load the protocol's preset, forget the last patient's physiological
        conditions and baseline, end any inactivation state. Technical conditions stay."""
        for key, c in list(self._conditions.items()):
            if c.category is AlarmCategory.PHYSIOLOGICAL:
                del self._conditions[key]
                self._emit(Transition.CLEARED, now, c, data={"reason": "new session"})
        if self._inact is not Inactivation.NONE:
            self._resume(now, user, "new session")
        self._preset = preset
        self._index_rules()
        self._states.clear()
        self._pre_dose.clear()
        self._baseline.clear()
        self._last_valid.clear()
        self._t0 = None
        self._symptoms = frozenset()
        data: dict[str, Any] = {"preset": preset.name, "hr_limits_confirmed": self._hr_confirmation}
        self._events.append(AlarmEvent(Transition.PRESET_LOADED, now, message=preset.name, user=user, data=data))
        for c in self._conditions.values():  # still present: the new session's log starts with them
            self._emit(Transition.RAISED, now, c, data={"reason": "present at session start", "since": c.since})
        self._changed()
        return self._take()

    def register_source(self, source: str, label: str, stale_after_s: float | None) -> None:
        """A device's label (for messages) and schedule (an episodic channel is overdue after it)."""
        src = self._source(source)
        src.label, src.stale_after_s, src.stopped = label, stale_after_s, False

    def _source(self, source: str) -> _Source:
        src = self._sources.get(source)
        if src is None:
            src = self._sources[source] = _Source(source)
        return src

    # ---- inputs ------------------------------------------------------------------------------
    def on_readings(self, readings: list[Reading], now: float) -> list[AlarmEvent]:
        """Evaluate a batch reading by reading, so a batch delivered at once (high simulation
        speed, a device catching up) logs its transitions in order, stamped with reading times."""
        for r in readings:
            for key in self._reading(r):
                self._update_condition(key, r.t)
        self._check_pending(now)
        return self._take()

    def observe(self, code: str, value: float, t: float) -> list[AlarmEvent]:
        """Hook for observations the nurse enters (MOAA/S, issue 6): evaluated like a reading."""
        touched = self._evaluate(code, float(value), t)
        for key in touched:
            self._update_condition(key, t)
        return self._take()

    def on_status(self, status: DeviceStatus, label: str | None = None, now: float | None = None) -> list[AlarmEvent]:
        t = status.t if now is None else now
        src = self._source(status.source)
        if label:
            src.label = label
        key = f"link:{status.source}"
        state = status.state
        if state in (LinkState.LOST, LinkState.NO_DATA):
            what = "lost" if state is LinkState.LOST else "sends no data"
            detail = f": {status.detail}" if status.detail else ""
            self._technical(key, TechnicalKind.LINK, True, f"{src.label} {what}{detail}", t)
        else:
            self._technical(key, TechnicalKind.LINK, False, "", t)
        if state is LinkState.STOPPED:  # stopped on purpose: its silence is not an alarm
            src.stopped = True
            for code, (source, _) in list(self._last_seen.items()):
                if source == status.source:
                    del self._last_seen[code]
                    self._technical(
                        "stale:nibp" if code in NIBP_CHANNELS else f"stale:{code}", TechnicalKind.NO_DATA, False, "", t
                    )
            src.flags.clear()
            self._technical(f"sensor_off:{status.source}", TechnicalKind.SENSOR_OFF, False, "", t)
            self._technical(f"artefact:{status.source}", TechnicalKind.ARTEFACT, False, "", t)
            self._technical(f"implausible:{status.source}", TechnicalKind.IMPLAUSIBLE, False, "", t)
        elif state is LinkState.STREAMING:
            src.stopped = False
        self._check_pending(t)
        return self._take()

    def on_notice(self, notice: TechnicalNotice) -> list[AlarmEvent]:
        """The recorder's failures and the GUI's "alarm audio unavailable" become technical alarms."""
        kind = NOTICE_KINDS.get(notice.key)
        if kind is None:
            return []
        present = notice.active and notice.level >= NoticeLevel.WARNING
        self._technical(f"notice:{notice.key}", kind, present, notice.message, notice.t)
        self._check_pending(notice.t)
        return self._take()

    def set_t0(self, t0: float) -> None:
        """The dose: fix the pre-dose baseline of every channel seen before it."""
        self._t0 = t0
        for code, history in self._pre_dose.items():
            before = [(t, v) for t, v in history if t <= t0]
            if not before:
                continue
            kind = CHANNELS[code].kind if code in CHANNELS else ChannelKind.NUMERIC
            if kind is ChannelKind.EPISODIC:
                self._baseline[code] = before[-1][1]
            else:
                last_t = before[-1][0]
                self._baseline[code] = statistics.median(v for t, v in before if t >= last_t - BASELINE_WINDOW_S)
        self._pre_dose.clear()

    def tick(self, now: float) -> list[AlarmEvent]:
        """The clock's part: condition delays, stale channels, pause expiry, OFF reminders."""
        for key in {r.condition for r in self._preset.rules}:
            if self._delayed_rules_due(key, now):
                self._update_condition(key, now)
        self._check_stale(now)
        self._check_pending(now)
        if self._inact.timed and self._inact_until is not None and now >= self._inact_until:
            self._resume(now, "", "timer")
        if self._next_reminder is not None and now >= self._next_reminder:
            self._events.append(AlarmEvent(Transition.REMINDER, now, data={"state": self._inact.value}))
            interval = self._preset.reminder_interval_s
            while self._next_reminder <= now:
                self._next_reminder += interval
        return self._take()

    # ---- operator actions --------------------------------------------------------------------
    def acknowledge(self, now: float, user: str, key: str | None = None) -> list[AlarmEvent]:
        """ALARM ACKNOWLEDGED: silence present conditions until they end; end latched ones."""
        acknowledged = False
        for c in list(self._conditions.values()):
            if key is not None and c.key != key:
                continue
            if c.present and c.acknowledged:
                continue
            for (rule_id, _code), st in self._states.items():
                if st.latched and self._rule(rule_id).condition == c.key:
                    st.latched = False
            c.acknowledged = acknowledged = True
            self._emit(Transition.ACKNOWLEDGED, now, c, user=user)
            if not c.present:
                del self._conditions[c.key]
                self._emit(Transition.CLEARED, now, c, user=user, data={"reason": "latched alarm acknowledged"})
        if acknowledged:
            self._changed()
        return self._take()

    @property
    def symptoms(self) -> frozenset[str]:
        """The crisis symptoms ticked in this session (codes of ``CRISIS_SYMPTOMS``)."""
        return self._symptoms

    def symptoms_text(self) -> str:
        return ", ".join(label for code, label in CRISIS_SYMPTOMS.items() if code in self._symptoms) or "none"

    def set_crisis_symptoms(self, symptoms: Iterable[str], t: float, user: str) -> list[AlarmEvent]:
        """The nurse ticks the symptoms the patient reports (requirement 15). While SBP ≥ 180 or
        DBP ≥ 110 is present and any symptom is ticked, that condition is HIGH and its message ends
        in "refer for emergency care"; unticking them all brings it back to its rule's priority.
        The tick itself is logged (who, when, which) as a SYMPTOMS event."""
        new = frozenset(symptoms)
        unknown = sorted(new - CRISIS_SYMPTOMS.keys())
        if unknown:
            raise AlarmSettingError(f"unknown crisis symptom {', '.join(unknown)}; known: {', '.join(CRISIS_SYMPTOMS.values())}")
        if not user.strip():
            raise AlarmSettingError("recording symptoms needs the name of the person ticking them")
        old = self._symptoms
        if new == old:
            return []
        self._symptoms = new
        data = {"symptoms": sorted(new), "added": sorted(new - old), "removed": sorted(old - new)}
        self._events.append(
            AlarmEvent(
                Transition.SYMPTOMS,
                t,
                key="crisis_symptoms",
                category=AlarmCategory.PHYSIOLOGICAL,
                message=f"Crisis symptoms: {self.symptoms_text()}",
                user=user,
                data=data,
            )
        )
        for key in CRISIS_CONDITIONS:
            self._update_condition(key, t)
        self._changed()
        return self._take()

    # ---- HR limits confirmation (requirement 17) ---------------------------------------------
    @property
    def hr_confirmation(self) -> dict[str, Any] | None:
        return None if self._hr_confirmation is None else dict(self._hr_confirmation)

    def require_hr_confirmation(self, confirmation: Mapping[str, Any] | None, now: float) -> list[AlarmEvent]:
        """Tell the engine whether this workstation's medical director has confirmed the HR limits
        (``confirmation``: who / when, or None). Until then a LOW technical condition says so.

        Requirement 17 says the app "refuses to start alarming until HR limits are confirmed". We
        read that as: the HR alarm is not *trusted* until confirmed — not that it is silent. The HR
        rules keep evaluating with the factory default 50–120 /min, because an unconfirmed
        bradycardia alarm is safer than none; the persistent notice makes sure the limits get
        confirmed (or changed) by the responsible organization. Only a ``Core`` given a workstation
        store calls this; an engine that is never told keeps no such condition."""
        self._require_hr(confirmation, now)
        return self._take()

    def _require_hr(self, confirmation: Mapping[str, Any] | None, now: float) -> None:
        self._hr_confirmation = None if confirmation is None else dict(confirmation)
        self._technical(HR_CONFIRM_KEY, TechnicalKind.CONFIGURATION, confirmation is None, HR_UNCONFIRMED_MESSAGE, now)
        self._check_pending(now)
        self._changed()

    def confirm_hr_limits(self, now: float, user: str, role: Role, at_utc: float | None = None) -> list[AlarmEvent]:
        """The medical director confirms the HR limits now in force (responsible organization only).
        Logged as a SETTING_CHANGED event with who and when; ``hr_confirmation`` then holds what to
        remember for the workstation."""
        if role is not Role.RESPONSIBLE_ORGANIZATION:
            raise AlarmSettingError("only the responsible organization (medical director) may confirm the HR alarm limits")
        if not user.strip():
            raise AlarmSettingError("confirming the HR limits needs the name of the person confirming them")
        limits = {rule_id: self._preset.rule(rule_id).limit for rule_id in HR_RULES}
        old = self._hr_confirmation
        confirmation = {"by": user, "at": now if at_utc is None else at_utc, **limits}
        text = "–".join("off" if v is None else _fmt(v) for v in limits.values())
        data = {
            "rule": "hr_limits",
            "field": "confirmed",
            "old": None if old is None else old.get("by"),
            "new": user,
            "role": role.value,
            **limits,
        }
        self._events.append(
            AlarmEvent(
                Transition.SETTING_CHANGED,
                now,
                key="hr_limits",
                category=AlarmCategory.PHYSIOLOGICAL,
                message=f"HR alarm limits {text} /min confirmed by {user}",
                user=user,
                data=data,
            )
        )
        self._require_hr(confirmation, now)
        return self._take()

    def inactivate(self, state: Inactivation, now: float, user: str, duration_s: float | None = None) -> list[AlarmEvent]:
        """Enter AUDIO PAUSED / ALARM PAUSED (timed) or AUDIO OFF / ALARM OFF (until resumed).
        A condition raised later with a priority above the highest present now still sounds."""
        if state is Inactivation.NONE:
            return self.resume(now, user)
        if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
            raise AlarmSettingError(f"a pause must last a positive number of seconds, not {duration_s!r}")
        previous = self._inact
        if state is Inactivation.AUDIO_PAUSED:
            duration = duration_s or self._preset.audio_pause_s
        elif state is Inactivation.ALARM_PAUSED:
            duration = duration_s or self._preset.alarm_pause_s
        else:
            duration = None
        present = [c.priority for c in self._conditions.values()]
        self._ceiling = max(present) if present else None
        for c in self._conditions.values():
            c.breaks_through = False
        self._inact, self._inact_since = state, now
        self._inact_until = None if duration is None else now + duration
        self._next_reminder = None if state.timed else now + self._preset.reminder_interval_s
        data: dict[str, Any] = {"state": state.value, "until": self._inact_until, "previous": previous.value}
        self._events.append(AlarmEvent(Transition.PAUSED, now, message=state.label, user=user, data=data))
        self._changed()
        return self._take()

    def resume(self, now: float, user: str, reason: str = "operator") -> list[AlarmEvent]:
        """End the inactivation state: signals resume for every condition still present."""
        self._resume(now, user, reason)
        return self._take()

    def _resume(self, now: float, user: str, reason: str) -> None:
        if self._inact is Inactivation.NONE:
            return
        old = self._inact
        self._inact, self._inact_since, self._inact_until = Inactivation.NONE, None, None
        self._ceiling, self._next_reminder = None, None
        for c in self._conditions.values():
            c.breaks_through = False
        self._events.append(
            AlarmEvent(Transition.RESUMED, now, message=old.label, user=user, data={"state": old.value, "reason": reason})
        )
        self._changed()

    def check_change(self, rule_id: str, field_name: str, value: Any, role: Role) -> LimitRule:
        """The rule as it would be after the change; AlarmSettingError (saying why) if refused."""
        try:
            rule = self._preset.rule(rule_id)
        except KeyError as exc:
            raise AlarmSettingError(str(exc.args[0])) from None
        if field_name == "limit":
            return replace(rule, limit=self._checked_limit(rule, value, role))
        if field_name not in _RESTRICTED:
            raise AlarmSettingError(f"{rule.label}: '{field_name}' is not an alarm setting")
        if role is not Role.RESPONSIBLE_ORGANIZATION:
            raise AlarmSettingError(f"{rule.label}: only the responsible organization may change {field_name.replace('_', ' ')}")
        if field_name == "priority":
            if not isinstance(value, AlarmPriority):
                raise AlarmSettingError(f"{rule.label}: priority must be HIGH, MEDIUM or LOW")
            return replace(rule, priority=value)
        if field_name == "latching":
            if not isinstance(value, bool):
                raise AlarmSettingError(f"{rule.label}: latching is on or off")
            return replace(rule, latching=value)
        if field_name == "consecutive":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise AlarmSettingError(f"{rule.label}: consecutive readings must be a whole number ≥ 1")
            return replace(rule, consecutive=value)
        number = _number(value)
        if number is None or number < 0:
            raise AlarmSettingError(f"{rule.label}: {field_name.replace('_', ' ')} must be a number ≥ 0, not {value!r}")
        return replace(rule, **{field_name: number})  # type: ignore[arg-type]  # field_name checked above

    def change_rule(
        self, rule_id: str, field_name: str, value: Any, now: float, user: str, role: Role = Role.OPERATOR
    ) -> list[AlarmEvent]:
        """Apply a checked change and re-evaluate the rule with the latest values; the
        SETTING_CHANGED event carries who, when, old and new."""
        if not user.strip():
            raise AlarmSettingError("a setting change needs the name of the person making it")
        new = self.check_change(rule_id, field_name, value, role)
        old = self._preset.rule(rule_id)
        old_value, new_value = getattr(old, field_name), getattr(new, field_name)
        self._preset = self._preset.with_rule(new)
        self._index_rules()
        data = {"rule": rule_id, "field": field_name, "old": _plain(old_value), "new": _plain(new_value), "role": role.value}
        self._events.append(
            AlarmEvent(
                Transition.SETTING_CHANGED,
                now,
                key=new.condition,
                priority=new.priority,
                category=AlarmCategory.PHYSIOLOGICAL,
                message=f"{new.label}: {field_name.replace('_', ' ')} {_plain(old_value)} → {_plain(new_value)}",
                user=user,
                data=data,
            )
        )
        for code in new.channels:  # re-evaluate with the latest value: a new limit applies at once
            st = self._states.get((rule_id, code))
            if st is not None:
                st.count, st.since, st.raised = 0, None, False
            last = self._last_valid.get(code)
            if last is not None:
                self._evaluate_rule(new, code, last[1], now)
        self._update_condition(new.condition, now)
        self._changed()
        return self._take()

    def _checked_limit(self, rule: LimitRule, value: Any, role: Role) -> float | None:
        if value is None:
            if role is not Role.RESPONSIBLE_ORGANIZATION:
                raise AlarmSettingError(f"{rule.label}: only the responsible organization may switch an alarm limit off")
            return None
        limit = _number(value)
        if limit is None:
            raise AlarmSettingError(f"{rule.label}: the limit must be a number, not {value!r}")
        if role is Role.OPERATOR and rule.bounds is not None and not rule.bounds[0] <= limit <= rule.bounds[1]:
            lo, hi = rule.bounds
            raise AlarmSettingError(f"{rule.label}: {_fmt(limit)} is outside the range the preset allows ({_fmt(lo)}–{_fmt(hi)})")
        if rule.relative is Relative.ABSOLUTE:
            for code in rule.channels:
                lo, hi = value_range(code)
                if not lo <= limit <= hi:
                    raise AlarmSettingError(
                        f"{rule.label}: {_fmt(limit)} is outside the display range of {message_label(code)} ({_fmt(lo)}–{_fmt(hi)})"
                    )
            self._check_low_below_high(rule, limit)
            return limit
        if limit <= 0:
            raise AlarmSettingError(f"{rule.label}: a rise over baseline must be greater than 0, not {_fmt(limit)}")
        missing = [message_label(c) for c in rule.channels if c not in self._baseline]
        if missing:
            raise AlarmSettingError(
                f"{rule.label}: there is no pre-dose baseline for {', '.join(missing)} yet — a baseline rule needs a "
                "pre-dose reading and the dose (t0) marked"
            )
        for code in rule.channels:
            threshold = replace(rule, limit=limit).threshold(self._baseline[code])
            lo, hi = value_range(code)
            assert threshold is not None
            if not lo <= threshold <= hi:
                raise AlarmSettingError(
                    f"{rule.label}: baseline {_fmt(self._baseline[code])} + {_fmt(limit)} gives {_fmt(threshold)}, outside the "
                    f"display range of {message_label(code)} ({_fmt(lo)}–{_fmt(hi)})"
                )
        return limit

    def _check_low_below_high(self, rule: LimitRule, limit: float) -> None:
        """low ≥ high makes no sense: refuse it, naming the other limit."""
        for other in self._preset.rules:
            if other.rule_id == rule.rule_id or other.limit is None or other.relative is not Relative.ABSOLUTE:
                continue
            if other.comparison.is_high == rule.comparison.is_high or not set(other.channels) & set(rule.channels):
                continue
            if rule.comparison.is_high and limit <= other.limit:
                raise AlarmSettingError(
                    f"{rule.label}: the high limit {_fmt(limit)} must be above the low limit {_fmt(other.limit)} ({other.label})"
                )
            if not rule.comparison.is_high and limit >= other.limit:
                raise AlarmSettingError(
                    f"{rule.label}: the low limit {_fmt(limit)} must be below the high limit {_fmt(other.limit)} ({other.label})"
                )

    # ---- output ------------------------------------------------------------------------------
    @property
    def inactivation(self) -> Inactivation:
        return self._inact

    def snapshot(self, now: float) -> AlarmState:
        conditions = []
        for c in self._conditions.values():
            visible = not (self._inact.silences_visual and not c.breaks_through)
            audible = visible and not c.acknowledged and not (self._inact.silences_audio and not c.breaks_through)
            if not c.present:
                state = ConditionState.LATCHED
            elif c.acknowledged:
                state = ConditionState.ACKNOWLEDGED
            else:
                state = ConditionState.ACTIVE
            conditions.append(
                AlarmCondition(
                    c.key,
                    c.category,
                    c.priority,
                    c.message,
                    c.since,
                    state,
                    c.channel,
                    c.value,
                    c.limit,
                    audible,
                    visible,
                    c.latching,
                )
            )
        rank = {r.condition: i for i, r in reversed(list(enumerate(self._preset.rules)))}  # preset order breaks ties
        conditions.sort(
            key=lambda c: (-c.priority, c.category is not AlarmCategory.PHYSIOLOGICAL, c.since, rank.get(c.key, 0), c.key)
        )
        audio = max((c.priority for c in conditions if c.audible), default=None)
        visual = max((c.priority for c in conditions if c.visible), default=None)
        return AlarmState(
            now,
            tuple(conditions),
            self._inact,
            self._inact_since,
            self._inact_until,
            audio,
            visual,
            self._preset.name,
            tuple(sorted(self._symptoms)),
        )

    # ---- physiological rules -----------------------------------------------------------------
    def _rule(self, rule_id: str) -> LimitRule:
        return self._preset.rule(rule_id)

    def _reading(self, r: Reading) -> set[str]:
        """Technical state of the reading's source; physiological rules for usable values."""
        src = self._source(r.source)
        src.flags[r.channel] = r.flags
        src.values[r.channel] = r.value
        prev = self._last_seen.get(r.channel)
        if prev is None or r.t >= prev[1]:
            self._last_seen[r.channel] = (r.source, r.t)
            stale = "stale:nibp" if r.channel in NIBP_CHANNELS else f"stale:{r.channel}"
            if stale in self._conditions or stale in self._pending:
                self._technical(stale, TechnicalKind.NO_DATA, False, "", r.t)
        self._source_flags(r.source, src, r.t)
        if r.quality is Quality.INVALID or r.flags & _UNUSABLE or math.isnan(r.value):
            return set()
        self._last_valid[r.channel] = (r.t, r.value)
        if self._t0 is None and r.quality is Quality.OK:
            history = self._pre_dose.get(r.channel)
            if history is None:
                history = self._pre_dose[r.channel] = deque(maxlen=600)
            history.append((r.t, r.value))
        return self._evaluate(r.channel, r.value, r.t)

    def _evaluate(self, code: str, value: float, t: float) -> set[str]:
        touched: set[str] = set()
        for rule in self._by_channel.get(code, ()):
            self._evaluate_rule(rule, code, value, t)
            touched.add(rule.condition)
        return touched

    def _evaluate_rule(self, rule: LimitRule, code: str, value: float, t: float) -> None:
        st = self._states.get((rule.rule_id, code))
        if st is None:
            st = self._states[(rule.rule_id, code)] = _RuleState()
        threshold = rule.threshold(self._baseline.get(code))
        if threshold is None:
            st.count, st.since, st.raised = 0, None, False
            return
        test = rule.clear_threshold(threshold) if st.raised else threshold
        if rule.comparison.test(value, test):
            st.count += 1
            st.since = t if st.since is None else st.since
            st.value, st.threshold = value, threshold
            if not st.raised and st.count >= rule.consecutive and t - st.since >= rule.delay_s:
                st.raised = True
                st.latched = st.latched or rule.latching
        else:
            st.count, st.since, st.raised = 0, None, False
            if not st.latched:
                st.value, st.threshold = value, threshold

    def _delayed_rules_due(self, condition: str, now: float) -> bool:
        """Raise rules whose condition delay has run out since their last reading."""
        due = False
        for (rule_id, _code), st in self._states.items():
            rule = self._rule(rule_id)
            if rule.condition != condition or st.raised or st.since is None:
                continue
            if st.count >= rule.consecutive and now - st.since >= rule.delay_s:
                st.raised = True
                st.latched = st.latched or rule.latching
                due = True
        return due

    def _update_condition(self, key: str, t: float) -> None:
        """Derive the condition from its rules: raise, escalate, latch or clear it."""
        best: tuple[LimitRule, str, _RuleState] | None = None
        present = False
        for (rule_id, code), st in self._states.items():
            rule = self._rule(rule_id)
            if rule.condition != key or not (st.raised or st.latched):
                continue
            present |= st.raised
            rank = (rule.priority, st.raised)
            if best is None or rank > (best[0].priority, best[2].raised):
                best = (rule, code, st)
        c = self._conditions.get(key)
        if best is None:
            if c is not None:
                del self._conditions[key]
                self._emit(Transition.CLEARED, t, c)
            return
        rule, code, st = best
        message = _limit_message(rule, code, st, self._baseline.get(code))
        priority = rule.priority
        if key in CRISIS_CONDITIONS and present and self._symptoms:  # requirement 15: hypertensive crisis
            priority = AlarmPriority.HIGH
            message += f" + {self.symptoms_text()} — {CRISIS_PROMPT}"
        if c is None:
            c = self._conditions[key] = _Condition(
                key, AlarmCategory.PHYSIOLOGICAL, priority, message, t, code, st.value, st.threshold, rule.latching
            )
            self._raised(c)
            self._emit(Transition.RAISED, t, c)
            return
        changed = (c.message, c.channel, c.value) != (message, code, st.value)
        c.message, c.channel, c.value, c.limit = message, code, st.value, st.threshold
        c.latching = c.latching or rule.latching
        if priority > c.priority:
            c.priority, c.acknowledged = priority, False
            self._raised(c)
            self._emit(Transition.ESCALATED, t, c)
        elif priority < c.priority:
            c.priority = priority
            self._emit(Transition.DEESCALATED, t, c)
        if c.present and not present:
            c.present = False
            self._emit(Transition.LATCHED, t, c)
        elif present and not c.present:
            c.present, c.acknowledged = True, False
            self._raised(c)
            self._emit(Transition.RAISED, t, c)
        elif changed:
            self._changed()

    # ---- technical conditions ----------------------------------------------------------------
    def _source_flags(self, source: str, src: _Source, t: float) -> None:
        off = [code for code, f in src.flags.items() if f & (Flag.PROBE_OFF | Flag.SENSOR_FAULT | Flag.NO_VALUE)]
        off_msg = ""
        if off:
            why = "sensor off" if any(src.flags[c] & Flag.PROBE_OFF for c in off) else "no valid value"
            off_msg = f"{src.label}: {why} ({', '.join(message_label(c) for c in sorted(off))})"
        self._technical(f"sensor_off:{source}", TechnicalKind.SENSOR_OFF, bool(off), off_msg, t)
        bad = [code for code, f in src.flags.items() if f & Flag.ARTEFACT]
        bad_msg = ""
        if bad:
            parts = [f"{message_label(c)} {_fmt_value(c, src.values.get(c, math.nan))}" for c in sorted(bad)]
            bad_msg = f"{src.label}: implausible {', '.join(parts)} (artefact)"
        self._technical(f"artefact:{source}", TechnicalKind.ARTEFACT, bool(bad), bad_msg, t)
        # The core marked these (monitor.plausibility); the value is kept only for this message and the
        # recording. Cleared, like the others, once each channel's latest reading is plausible again.
        odd = [code for code, f in src.flags.items() if f & Flag.IMPLAUSIBLE]
        odd_msg = ""
        if odd:
            parts = [
                f"{message_label(c)} {_fmt_value(c, src.values.get(c, math.nan))} ({implausible(c, src.values.get(c, math.nan))})"
                for c in sorted(odd)
            ]
            odd_msg = f"{src.label}: implausible value {', '.join(parts)} — not shown, kept in the recording; check the device and its link"
        self._technical(f"implausible:{source}", TechnicalKind.IMPLAUSIBLE, bool(odd), odd_msg, t)

    def _check_stale(self, now: float) -> None:
        """Quasi-continuous channels older than the stale limit; the cuff older than its schedule
        (one condition for sys/dia/mean). Other episodic channels (live cuff pressure) are silent
        between measurements by design."""
        newest: dict[str, tuple[str, float]] = {}
        for code, (source, t_last) in self._last_seen.items():
            kind = CHANNELS[code].kind if code in CHANNELS else None
            if code in NIBP_CHANNELS:
                key = "nibp"
            elif kind is ChannelKind.NUMERIC:
                key = code
            else:
                continue
            if key not in newest or t_last > newest[key][1]:
                newest[key] = (source, t_last)
        for key, (source, t_last) in newest.items():
            src = self._sources.get(source)
            if key == "nibp":
                limit = src.stale_after_s if src is not None else None
                technical, text = TechnicalKind.OVERDUE, "NIBP: no cuff reading within its schedule"
            else:
                limit, technical = self._preset.numeric_stale_s, TechnicalKind.NO_DATA
                text = f"{message_label(key)}: no data for more than {limit:.0f} s"
            link_down = f"link:{source}" in self._conditions or f"link:{source}" in self._pending
            stale = (
                limit is not None
                and now - t_last > max(limit, self._stale_grace_s)
                and not link_down
                and not (src is not None and src.stopped)
            )
            self._technical(f"stale:{key}", technical, stale, text, now)

    def _technical(
        self, key: str, kind: TechnicalKind, present: bool, message: str, t: float, channel: str | None = None
    ) -> None:
        c = self._conditions.get(key)
        if not present:
            self._pending.pop(key, None)
            if c is not None:
                del self._conditions[key]
                self._emit(Transition.CLEARED, t, c)
            return
        if c is not None:
            if c.message != message:
                c.message = message
                self._changed()
            return
        p = self._pending.get(key)
        if p is None:
            self._pending[key] = _Pending(kind, t, message, channel)
        else:
            p.message = message

    def _check_pending(self, now: float) -> None:
        for key, p in list(self._pending.items()):
            spec = self._preset.technical_spec(p.kind)
            if now - p.since >= spec.delay_s:
                del self._pending[key]
                c = self._conditions[key] = _Condition(key, AlarmCategory.TECHNICAL, spec.priority, p.message, now, None)
                self._raised(c)
                self._emit(Transition.RAISED, now, c, data={"technical": p.kind.value})

    # ---- bookkeeping -------------------------------------------------------------------------
    def _raised(self, c: _Condition) -> None:
        """A condition (re-)raised or escalated during a pause sounds if above the pause ceiling."""
        if self._inact.timed and (self._ceiling is None or c.priority > self._ceiling):
            c.breaks_through = True

    def _emit(self, transition: Transition, t: float, c: _Condition, user: str = "", data: dict[str, Any] | None = None) -> None:
        extra = {"channel": c.channel, "latching": c.latching}
        if data:
            extra.update(data)
        self._events.append(AlarmEvent(transition, t, c.key, c.priority, c.category, c.message, c.value, c.limit, user, extra))
        self._changed()

    def _changed(self) -> None:
        self.version += 1

    def _take(self) -> list[AlarmEvent]:
        events, self._events = self._events, []
        return events


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    if isinstance(value, AlarmPriority):
        return value.name
    return value


def _fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _fmt_value(code: str, value: float) -> str:
    if math.isnan(value):
        return "--"
    decimals = CHANNELS[code].decimals if code in CHANNELS else 0
    return f"{value:.{decimals}f}"


def _limit_message(rule: LimitRule, code: str, st: _RuleState, baseline: float | None) -> str:
    """'SBP 186 ≥ 180', 'SBP 186 > 176 (baseline 136 + 40)'."""
    text = f"{message_label(code)} {_fmt_value(code, st.value)} {rule.comparison.value} {_fmt_value(code, st.threshold)}"
    if rule.relative is Relative.BASELINE_PLUS and baseline is not None and rule.limit is not None:
        text += f" (baseline {_fmt_value(code, baseline)} + {_fmt(rule.limit)})"
    elif rule.relative is Relative.BASELINE_PERCENT and baseline is not None and rule.limit is not None:
        text += f" (baseline {_fmt_value(code, baseline)} + {_fmt(rule.limit)} %)"
    if not st.raised and st.latched:
        text += " (ended)"
    return text
