"""Session events (dose, start, end, device link changes) and technical notices for the nurse."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class EventKind(enum.Enum):
    """Stored by value; values never change."""

    SESSION_STARTED = "session_started"
    DOSE_GIVEN = "dose_given"  # the first one sets t0
    SESSION_ENDED = "session_ended"
    DEVICE_STATUS = "device_status"
    TECHNICAL_NOTICE = "technical_notice"
    NOTE = "note"
    ALARM = "alarm"  # alarm log: raised, escalated, acknowledged, paused, resumed, cleared (data: AlarmEvent.record())
    ALARM_SETTING = "alarm_setting"  # an alarm limit/option changed: who, when, old, new
    OBSERVATION = "observation"  # clinician entry (data: monitor.observations.Observation.record())
    AMENDMENT = "amendment"  # a correction: a new record whose data["amends"] names the original


@dataclass(frozen=True, slots=True)
class SessionEvent:
    kind: EventKind
    t: float
    source: str = ""  # device source or "user:<name>" / "app"
    data: dict[str, Any] = field(default_factory=dict)


class NoticeLevel(enum.IntEnum):
    INFO = 0
    WARNING = 1  # something degraded; monitoring continues
    CRITICAL = 2  # the patient could be affected: a device is lost, recording is failing


@dataclass(frozen=True, slots=True)
class TechnicalNotice:
    """A technical condition shown on the dashboard until ``active`` goes False for the same key.

    ``key`` identifies the condition (e.g. "device:sim:oximeter" or "recorder"), so a later notice
    with the same key replaces or clears it.
    """

    key: str
    message: str
    level: NoticeLevel
    t: float
    active: bool = True
