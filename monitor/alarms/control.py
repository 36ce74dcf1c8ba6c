"""The alarm settings and actions of the running monitor, reached as ``core.alarms``: the engine
behind one lock, with the engine's events handed to the GUI queue and the recording.

The engine runs on the core thread; operator actions from the GUI thread take the lock for the
microseconds they need, so the GUI can never starve it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from monitor.alarms.engine import AlarmEngine
from monitor.alarms.model import AlarmEvent, AlarmSettingError, AlarmState, Inactivation, Role, Transition
from monitor.alarms.rules import AlarmPreset
from monitor.alarms.workstation import WorkstationAlarmConfig
from monitor.clock import Clock
from monitor.errors import KnownError
from monitor.events import EventKind, SessionEvent, TechnicalNotice
from monitor.readings import DeviceStatus, Reading


class AlarmControl:
    """Owns the alarm engine, its lock and the publish/record helpers. ``show`` puts on the GUI
    queue; ``record`` hands a SessionEvent to the recording without showing it."""

    def __init__(
        self,
        engine: AlarmEngine,
        clock: Clock,
        show: Callable[[AlarmEvent | AlarmState], None],
        record: Callable[[SessionEvent], None],
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._show = show
        self._record = record
        self._lock = threading.Lock()
        self._version = -1
        self._config: WorkstationAlarmConfig | None = None

    # ---- operator settings and actions (any thread / GUI thread) ----------------------------------
    def state(self) -> AlarmState:
        """The current alarm state (any thread)."""
        with self._lock:
            return self._engine.snapshot(self._clock.now())

    def preset(self) -> AlarmPreset:
        """The session's alarm preset with its overrides (any thread)."""
        with self._lock:
            return self._engine.preset

    def baseline(self) -> dict[str, float]:
        with self._lock:
            return self._engine.baseline

    def acknowledge(self, user: str, key: str | None = None) -> list[AlarmEvent]:
        """ALARM ACKNOWLEDGED for every present condition (or the one ``key``); GUI thread."""
        with self._lock:
            events = self._engine.acknowledge(self._clock.now(), user, key)
            self._publish(events)
        return events

    def inactivate(self, state: Inactivation, user: str, duration_s: float | None = None) -> list[AlarmEvent]:
        """AUDIO PAUSED / ALARM PAUSED / AUDIO OFF / ALARM OFF; GUI thread."""
        with self._lock:
            events = self._engine.inactivate(state, self._clock.now(), user, duration_s)
            self._publish(events)
        return events

    def resume(self, user: str) -> list[AlarmEvent]:
        """End the inactivation state; GUI thread."""
        with self._lock:
            events = self._engine.resume(self._clock.now(), user)
            self._publish(events)
        return events

    def change_rule(self, rule_id: str, field_name: str, value: Any, user: str, role: Role = Role.OPERATOR) -> list[AlarmEvent]:
        """Change an alarm setting (validated by the engine; ``AlarmSettingError`` if refused). The
        change is clinician input: it is committed to the recording before this returns."""
        with self._lock:
            events = self._engine.change_rule(rule_id, field_name, value, self._clock.now(), user, role)
            self._publish_settings(events)
        self._record_settings(events)
        return events

    def observe(self, code: str, value: float, t: float | None = None) -> list[AlarmEvent]:
        """Hook for observations that alarm (MOAA/S, issue 6): evaluated by the alarm rules."""
        with self._lock:
            events = self._engine.observe(code, value, self._clock.now() if t is None else t)
            self._publish(events)
        return events

    # ---- crisis symptoms and the workstation's alarm configuration (issue 5, req. 15/17/24) -------
    def set_crisis_symptoms(self, symptoms: set[str] | frozenset[str], user: str) -> list[AlarmEvent]:
        """The symptoms the nurse ticked (GUI thread); with severe hypertension present they make
        the alarm HIGH ("refer for emergency care"). Logged with who, when and which."""
        with self._lock:
            events = self._engine.set_crisis_symptoms(symptoms, self._clock.now(), user)
            self._publish(events)
        return events

    def crisis_symptoms(self) -> frozenset[str]:
        with self._lock:
            return self._engine.symptoms

    @property
    def config(self) -> WorkstationAlarmConfig | None:
        """The workstation's alarm configuration (HR confirmation, responsible-organization PIN)."""
        return self._config

    def attach_config(self, config: WorkstationAlarmConfig) -> None:
        """Use this workstation's configuration: until its medical director has confirmed the HR
        limits a LOW technical condition says so (requirement 17)."""
        self._config = config
        confirmation = config.hr_confirmation()
        with self._lock:
            self._publish(self._engine.require_hr_confirmation(confirmation, self._clock.now()))

    def hr_confirmation(self) -> dict[str, Any] | None:
        with self._lock:
            return self._engine.hr_confirmation

    def confirm_hr_limits(self, user: str, role: Role) -> list[AlarmEvent]:
        """The medical director confirms the HR limits for this workstation (responsible
        organization only): remembered in the workstation configuration and recorded as an
        alarm_setting event with who and when."""
        config = self._config
        if config is None:
            raise AlarmSettingError("this workstation keeps no alarm configuration: the HR limits cannot be confirmed here")
        with self._lock:
            old = self._engine.hr_confirmation
            events = self._engine.confirm_hr_limits(self._clock.now(), user, role, at_utc=time.time())
            confirmation = self._engine.hr_confirmation
            assert confirmation is not None
            try:
                config.save_hr_confirmation(confirmation)
            except (OSError, KnownError) as exc:
                self._engine.require_hr_confirmation(old, self._clock.now())
                self._publish([])
                raise AlarmSettingError(f"the confirmation could not be saved: {exc}") from None
            self._publish_settings(events)
        self._record_settings(events)
        return events

    # ---- what the core feeds in (core thread, or the GUI thread for session milestones) -----------
    def start_session(self, preset: AlarmPreset, t: float, clinician: str) -> None:
        with self._lock:
            self._publish(self._engine.start_session(preset, t, clinician))

    def set_t0(self, t0: float) -> None:
        with self._lock:
            self._engine.set_t0(t0)

    def register_source(self, source: str, label: str, stale_after_s: float | None) -> None:
        with self._lock:
            self._engine.register_source(source, label, stale_after_s)

    def on_readings(self, readings: list[Reading]) -> None:
        with self._lock:
            self._publish(self._engine.on_readings(readings, self._clock.now()))

    def on_status(self, status: DeviceStatus, label: str) -> None:
        with self._lock:
            self._publish(self._engine.on_status(status, label, self._clock.now()))

    def on_notice(self, notice: TechnicalNotice) -> None:
        with self._lock:
            self._publish(self._engine.on_notice(notice))

    def tick(self) -> None:
        """The engine's clock tick: condition delays, pauses, reminders, stale channels."""
        with self._lock:
            self._publish(self._engine.tick(self._clock.now()))

    # ---- publishing ---------------------------------------------------------------------------------
    def _publish(self, events: list[AlarmEvent]) -> None:
        """Hand the engine's events to the GUI and the alarm log, then a fresh AlarmState if it
        changed. Called with the lock held, so events leave in the order they happened."""
        for e in events:
            self._show(e)
            if e.transition is not Transition.REMINDER:
                source = f"user:{e.user}" if e.user else "alarm"
                self._record(SessionEvent(EventKind.ALARM, e.t, source, e.record()))
        if self._engine.version != self._version:
            self._version = self._engine.version
            self._show(self._engine.snapshot(self._clock.now()))

    def _publish_settings(self, events: list[AlarmEvent]) -> None:
        """Under the lock: the alarm transitions to the display and the record, the setting
        changes to the display's log."""
        self._publish([e for e in events if e.transition is not Transition.SETTING_CHANGED])
        for e in events:
            if e.transition is Transition.SETTING_CHANGED:
                self._show(e)

    def _record_settings(self, events: list[AlarmEvent]) -> None:
        """After the lock: the setting changes committed to the recording (clinician input)."""
        for e in events:
            if e.transition is Transition.SETTING_CHANGED:
                self._record(SessionEvent(EventKind.ALARM_SETTING, e.t, f"user:{e.user}", e.record()))
