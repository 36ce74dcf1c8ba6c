"""The alarm system's value types: priorities, states, and the frozen snapshots and events that
leave the engine (to the GUI through ``Core.ui_events`` and to the recording as the alarm log).

Names follow IEC 60601-1-8 (clinical.md §4): HIGH / MEDIUM / LOW priority, physiological vs
technical alarm conditions, the inactivation states AUDIO PAUSED, ALARM PAUSED, AUDIO OFF and
ALARM OFF, latching alarm signals and ALARM ACKNOWLEDGED. Every enum value is stored in the
recording, so values never change.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any


class AlarmPriority(enum.IntEnum):
    """Ordered: a higher value is more urgent (clinical.md §4.2)."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def marker(self) -> str:
        """The '*' / '**' / '***' prefix bedside monitors put before a message (clinical.md §4.3)."""
        return "*" * int(self)


class AlarmCategory(enum.Enum):
    PHYSIOLOGICAL = "physiological"  # the patient's values
    TECHNICAL = "technical"  # the monitoring itself: device lost, sensor off, no data, ...


class ConditionState(enum.Enum):
    ACTIVE = "active"  # present, signalling
    ACKNOWLEDGED = "acknowledged"  # present; the operator silenced its sound until it ends
    LATCHED = "latched"  # ended, but a latching alarm keeps signalling until acknowledged


class Inactivation(enum.Enum):
    """The four alarm-signal inactivation states (clinical.md §4.5) and NONE."""

    NONE = "none"
    AUDIO_PAUSED = "audio paused"  # sound off for a time
    ALARM_PAUSED = "alarm paused"  # sound and visual off for a time
    AUDIO_OFF = "audio off"  # sound off until the operator ends it; reminder signal
    ALARM_OFF = "alarm off"  # sound and visual off until the operator ends it; reminder signal

    @property
    def timed(self) -> bool:
        return self in (Inactivation.AUDIO_PAUSED, Inactivation.ALARM_PAUSED)

    @property
    def silences_audio(self) -> bool:
        return self is not Inactivation.NONE

    @property
    def silences_visual(self) -> bool:
        return self in (Inactivation.ALARM_PAUSED, Inactivation.ALARM_OFF)

    @property
    def label(self) -> str:
        return self.value.upper()


class Transition(enum.Enum):
    """What an ``AlarmEvent`` reports; the alarm log is the sequence of these."""

    RAISED = "raised"
    ESCALATED = "escalated"  # the condition's priority went up (e.g. SpO2 < 93 → SpO2 ≤ 90)
    DEESCALATED = "deescalated"
    ACKNOWLEDGED = "acknowledged"
    LATCHED = "latched"  # the condition ended; the latching signal stays until acknowledged
    CLEARED = "cleared"
    PAUSED = "paused"  # an inactivation state began (data: state, until)
    RESUMED = "resumed"  # an inactivation state ended (by the operator or its timer)
    REMINDER = "reminder"  # periodic reminder while AUDIO OFF / ALARM OFF
    SETTING_CHANGED = "setting_changed"  # a limit/priority/... changed: who, when, old, new
    PRESET_LOADED = "preset_loaded"
    SYMPTOMS = "symptoms"  # the nurse ticked / unticked crisis symptoms (data: symptoms, added, removed)


class Role(enum.Enum):
    """Who changes a setting (clinical.md requirement 24): operators adjust limits within the
    preset's bounds; priority, latching, delays and switching a rule off need the responsible
    organization (medical director)."""

    OPERATOR = "operator"
    RESPONSIBLE_ORGANIZATION = "responsible_organization"


class AlarmSettingError(ValueError):
    """A refused setting; the message says why and is shown to the nurse verbatim."""


@dataclass(frozen=True, slots=True)
class AlarmCondition:
    """One alarm condition as the GUI shows it (a snapshot; the engine keeps the live state)."""

    key: str  # stable identity: "spo2_low", "link:sim:oximeter", ...
    category: AlarmCategory
    priority: AlarmPriority
    message: str  # names value and limit: "SpO₂ 89 ≤ 90"
    since: float  # session time it was raised
    state: ConditionState
    channel: str | None = None  # the violated channel (tile to flash), None for technical ones
    value: float | None = None
    limit: float | None = None
    audible: bool = True  # its sound is not acknowledged / paused / off
    visible: bool = True  # its visual signal is not paused / off
    latching: bool = False


@dataclass(frozen=True, slots=True)
class AlarmState:
    """Everything the signals need at one instant: conditions (most urgent first), the
    inactivation state and which priority the loudspeaker must play (None = silent)."""

    t: float
    conditions: tuple[AlarmCondition, ...] = ()
    inactivation: Inactivation = Inactivation.NONE
    inactivation_since: float | None = None
    inactivation_until: float | None = None  # end of a pause (session time)
    audio: AlarmPriority | None = None  # only the highest-priority audible condition sounds
    visual: AlarmPriority | None = None
    preset: str = ""
    symptoms: tuple[str, ...] = ()  # crisis symptoms ticked in this session (requirement 15)

    @property
    def highest(self) -> AlarmCondition | None:
        """The condition the banner shows: the most urgent visible one."""
        return next((c for c in self.conditions if c.visible), None)

    def remaining_s(self, now: float) -> float | None:
        """Seconds left of a pause (the visible countdown), None when not paused."""
        if self.inactivation_until is None:
            return None
        return max(0.0, self.inactivation_until - now)

    def by_channel(self) -> dict[str, AlarmCondition]:
        """The most urgent visible condition per violated channel (for flashing tiles)."""
        out: dict[str, AlarmCondition] = {}
        for c in self.conditions:
            if c.channel is not None and c.visible and c.channel not in out:
                out[c.channel] = c
        return out


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One entry of the alarm log (IEC 60601-1-8 6.12: time, identity, priority, value, limit,
    inactivation states) plus who did it for operator actions."""

    transition: Transition
    t: float
    key: str = ""
    priority: AlarmPriority | None = None
    category: AlarmCategory | None = None
    message: str = ""
    value: float | None = None
    limit: float | None = None
    user: str = ""  # "" for the system; the operator for acknowledge / pause / settings
    data: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """Plain JSON for the recording and the export (NaN and inf become null)."""
        out: dict[str, Any] = {
            "transition": self.transition.value,
            "key": self.key,
            "priority": None if self.priority is None else self.priority.name,
            "category": None if self.category is None else self.category.value,
            "message": self.message,
            "value": _finite(self.value),
            "limit": _finite(self.limit),
            "user": self.user,
        }
        out.update(self.data)
        return out


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None
