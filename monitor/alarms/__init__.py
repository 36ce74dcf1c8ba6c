"""The alarm system after IEC 60601-1-8 (clinical.md §4, requirements 14-26): rules and presets
with their sources, the engine run by the core thread, and the frozen types the GUI and the
recording receive. Qt-free: stdlib + numpy only."""

from monitor.alarms.engine import AUDIO_NOTICE_KEY, HR_CONFIRM_KEY, WATCHDOG_NOTICE_KEY, AlarmEngine, shown_as_alarm
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
    CRISIS_SYMPTOMS,
    AlarmPreset,
    Comparison,
    LimitRule,
    Relative,
    TechnicalKind,
    preset_for,
    preset_table,
)
from monitor.alarms.workstation import MemoryAlarmConfig, WorkstationAlarmConfig, hash_pin, verify_pin

__all__ = [
    "AUDIO_NOTICE_KEY",
    "CRISIS_SYMPTOMS",
    "HR_CONFIRM_KEY",
    "WATCHDOG_NOTICE_KEY",
    "AlarmCategory",
    "AlarmCondition",
    "AlarmEngine",
    "AlarmEvent",
    "AlarmPreset",
    "AlarmPriority",
    "AlarmSettingError",
    "AlarmState",
    "Comparison",
    "ConditionState",
    "Inactivation",
    "LimitRule",
    "MemoryAlarmConfig",
    "Relative",
    "Role",
    "TechnicalKind",
    "Transition",
    "WorkstationAlarmConfig",
    "hash_pin",
    "preset_for",
    "preset_table",
    "shown_as_alarm",
    "verify_pin",
]
