"""The core: one thread that takes everything the drivers deliver, keeps the live buffers, watches
device links, runs the alarm engine and hands readings to the recorder and events to the GUI.

Drivers call the ``DriverSink`` methods from their own threads; those only queue. The GUI reads
snapshots from ``LiveStore`` and drains ``ui_events`` at frame rate: there is no callback into the GUI.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from monitor.alarms import AlarmEngine, AlarmEvent, AlarmState, preset_for
from monitor.alarms.control import AlarmControl
from monitor.clock import Clock
from monitor.events import EventKind, NoticeLevel, SessionEvent, TechnicalNotice
from monitor.obs_kinds import SCALES
from monitor.observations import Observation, ObservationError, ObservationLog, ObsKind, check_time, describe
from monitor.plausibility import screen
from monitor.ports import DeviceInfo, RecordingSink
from monitor.readings import DeviceStatus, LinkState, Reading, WaveformBlock
from monitor.ring import TimeSeriesBuffer
from monitor.schedule import (
    BpSample,
    CheckKind,
    CheckState,
    DoseGate,
    DoseGateState,
    ProtocolTemplate,
    ScheduleStatus,
    dose_gate,
    evaluate,
)
from monitor.session import DosingProtocol, Session, SessionInfo

log = logging.getLogger(__name__)

#: Manual vitals enter as readings of this source; it never goes stale (entries are occasional).
MANUAL_SOURCE = "manual"
MANUAL_STALE_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What was committed, warnings for the nurse (e.g. Spravato devices too close) and a short label."""

    observation: Observation
    warnings: tuple[str, ...]
    text: str


UiEvent = DeviceStatus | TechnicalNotice | SessionEvent | AlarmEvent | AlarmState

#: Trend buffers hold 6 h at 1 Hz: a whole session stays on screen, memory stays fixed.
TREND_CAPACITY = 6 * 3600
#: Waveform buffers hold this many seconds (the sweep shows less).
WAVEFORM_SECONDS = 60.0
#: A silent device is only called "no data" after this much *real* time as well, so scheduler
#: jitter at high simulation speeds cannot make a link flap (at 60x a 45 s dropout still shows).
MIN_REAL_SILENCE_S = 0.3
#: The alarm engine's clock tick (condition delays, pauses, reminders, stale channels), real seconds.
ALARM_TICK_S = 0.1


@dataclass
class DeviceView:
    """The core's picture of one device; the GUI reads copies of it."""

    info: DeviceInfo
    state: LinkState = LinkState.CONNECTING
    detail: str = ""
    last_data_t: float | None = None  # session time of the last reading or block
    last_data_real: float = field(default_factory=time.monotonic)


class LiveStore:
    """Ring buffers per (source, channel) plus the latest reading per channel. Written by the core
    thread only; read from any thread."""

    def __init__(self, trend_capacity: int = TREND_CAPACITY, waveform_seconds: float = WAVEFORM_SECONDS) -> None:
        self._trend_capacity = trend_capacity
        self._waveform_seconds = waveform_seconds
        self._series: dict[tuple[str, str], TimeSeriesBuffer] = {}
        self._latest: dict[str, Reading] = {}
        self._lock = threading.Lock()

    def _buffer(self, source: str, channel: str, capacity: int) -> TimeSeriesBuffer:
        key = (source, channel)
        buf = self._series.get(key)
        if buf is None:
            with self._lock:
                buf = self._series[key] = TimeSeriesBuffer(capacity)
        return buf

    def add_reading(self, r: Reading) -> None:
        """An INVALID reading is a gap, also when it kept its number for the recording (IMPLAUSIBLE):
        what the screen and the trends read from here is never an impossible value."""
        if not r.valid and r.value == r.value:
            r = Reading(r.source, r.channel, r.t, math.nan, r.quality, r.flags, r.device_t)
        self._buffer(r.source, r.channel, self._trend_capacity).append(r.t, r.value)
        prev = self._latest.get(r.channel)
        if prev is None or r.t >= prev.t:
            self._latest[r.channel] = r

    def add_waveform(self, b: WaveformBlock) -> None:
        capacity = max(1, int(b.fs * self._waveform_seconds))
        t = b.t0 + np.arange(b.n) / b.fs
        self._buffer(b.source, b.channel, capacity).extend(t, b.samples.astype(float, copy=False))

    def series(self, channel: str) -> list[tuple[str, TimeSeriesBuffer]]:
        """Buffers of one channel, one per source that has sent it."""
        with self._lock:
            return [(src, buf) for (src, ch), buf in self._series.items() if ch == channel]

    def latest(self, channel: str) -> Reading | None:
        return self._latest.get(channel)

    def clear(self) -> None:
        with self._lock:
            self._series.clear()
            self._latest.clear()


_STOP = object()


class Core:
    """Implements ``DriverSink`` for the drivers and owns the session lifecycle."""

    def __init__(
        self,
        clock: Clock,
        recorder: RecordingSink | None = None,
        store: LiveStore | None = None,
        templates: Mapping[DosingProtocol, ProtocolTemplate] | None = None,
    ) -> None:
        """``templates``: the dosing-protocol rules (pre-dose BP before t0, schedule, discharge lock);
        None runs without them (plain core tests)."""
        self.clock = clock
        self.templates: dict[DosingProtocol, ProtocolTemplate] = dict(templates or {})
        self.observations = ObservationLog()
        self._obs_lock = threading.Lock()
        self._manual_registered: int | None = -1  # session id the manual source is registered for
        self.store = store or LiveStore()
        self.ui_events: queue.SimpleQueue[UiEvent] = queue.SimpleQueue()
        self._recorder = recorder
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._devices: dict[str, DeviceView] = {}
        self._devices_lock = threading.Lock()
        self._session: Session | None = None
        self._thread: threading.Thread | None = None
        self.readings_ingested = 0
        #: The alarm settings and operator actions; the engine and its lock live there.
        self.alarms = AlarmControl(
            AlarmEngine(preset_for(None), stale_grace_s=MIN_REAL_SILENCE_S * clock.speed),
            clock,
            self.ui_events.put,
            lambda e: self._record_event(e, to_ui=False),
        )
        #: time.monotonic() of the last alarm tick: the app's alarm watchdog reads it (requirement 25).
        self.last_alarm_tick = time.monotonic()
        self._overdue_notified: dict[str, str] = {}  # overdue BP checkpoints with an active notice

    # ---- DriverSink (any thread; only queues) -------------------------------------------------
    def register_device(self, info: DeviceInfo) -> None:
        self._inbox.put(info)

    def put_readings(self, readings: list[Reading]) -> None:
        if readings:
            self._inbox.put(readings)

    def put_waveform(self, block: WaveformBlock) -> None:
        self._inbox.put(block)

    def put_status(self, status: DeviceStatus) -> None:
        self._inbox.put(status)

    # ---- NoticeSink ---------------------------------------------------------------------------
    def post_notice(self, notice: TechnicalNotice) -> None:
        """Show a technical condition (from the recorder, the app, ...) and record it."""
        self._inbox.put(notice)

    # ---- session lifecycle (GUI thread; recorder commits before these return) -----------------
    @property
    def session(self) -> Session | None:
        return self._session

    def start_session(self, session: Session) -> SessionInfo:
        if self._session is not None and self._session.info.ended is None:
            raise ValueError("a session is already running; end it before starting another")
        self.store.clear()
        self.observations = ObservationLog()
        self._overdue_notified.clear()  # a new session starts with no overdue notices of its own
        if self._recorder is not None:
            session.assign_id(self._recorder.begin_session(session.info))
        self._session = session
        info = session.info
        self._record_event(SessionEvent(EventKind.SESSION_STARTED, info.started, "app", _session_data(info)))
        self.alarms.start_session(preset_for(info.protocol), info.started, info.clinician)
        with self._devices_lock:
            devices = [d.info for d in self._devices.values()]
        for dev in devices:
            self._register_with_recorder(dev)
        return info

    def mark_dose(self, t: float | None = None, user: str = "") -> SessionInfo:
        session = self._require_session()
        if session.info.t0 is None:
            gate = self.dose_gate()
            if gate.state is not DoseGateState.OK:
                raise ObservationError(gate.message)
        info = session.mark_dose(self.clock.now() if t is None else t)
        if self._recorder is not None and info.session_id is not None:
            self._recorder.update_session(info)
        self.alarms.set_t0(info.t0 or 0.0)
        self._record_event(
            SessionEvent(EventKind.DOSE_GIVEN, info.t0 or 0.0, f"user:{user or info.clinician}", {"sets_t0": True})
        )
        return info

    def end_session(self, reason: str = "ended", user: str = "") -> SessionInfo:
        session = self._require_session()
        info = session.end(self.clock.now(), reason)
        self._record_event(
            SessionEvent(EventKind.SESSION_ENDED, info.ended or 0.0, f"user:{user or info.clinician}", {"reason": reason})
        )
        if self._recorder is not None and info.session_id is not None:
            self._recorder.update_session(info)
        return info

    # ---- clinician observations (GUI thread; committed to the recording before these return) -----
    @property
    def template(self) -> ProtocolTemplate | None:
        """The running session's dosing-protocol template (None: no dosing-protocol rules)."""
        s = self._session
        return None if s is None else self.templates.get(s.info.protocol)

    def bp_samples(self) -> list[BpSample]:
        """Every blood pressure of the session: cuff readings from the live store (paired by source
        and time) plus manual entries from the observation log (current versions, so an amended
        manual BP counts with its corrected value)."""
        out: list[BpSample] = []
        dia = dict(self.store.series("nibp_dia"))
        for src, buf in self.store.series("nibp_sys"):
            if src == MANUAL_SOURCE or src not in dia:
                continue
            ts, vs = buf.snapshot()
            td, vd = dia[src].snapshot()
            lookup = dict(zip(td.tolist(), vd.tolist(), strict=True))
            for t, v in zip(ts.tolist(), vs.tolist(), strict=True):
                d = lookup.get(t)
                if d is not None and v == v and d == d:  # NaN = no value
                    out.append(BpSample(t, v, d))
        for o in self.observations.current(ObsKind.MANUAL_VITALS):
            vals = o.data["values"]
            if "nibp_sys" in vals:
                out.append(BpSample(o.t, float(vals["nibp_sys"]), float(vals["nibp_dia"])))
        return sorted(out, key=lambda b: b.t)

    def dose_gate(self) -> DoseGate:
        """May the dose that sets t0 be given now (pre-dose BP taken, a high one acknowledged)?
        The one place the gate is built for the running session; raises without a session."""
        session = self._require_session()
        return dose_gate(self.template, session.info, self.observations.current(), self.bp_samples())

    def schedule_status(self, now: float | None = None) -> ScheduleStatus | None:
        """Checkpoints and the discharge lock of the running session (None without a template)."""
        s, tpl = self._session, self.template
        if s is None or tpl is None:
            return None
        return evaluate(tpl, s.info, self.clock.now() if now is None else now, self.observations.current(), self.bp_samples())

    def record_observation(self, obs: Observation) -> RecordResult:
        """Validate ``obs`` against the session and its dosing protocol, commit it to the recording, and
        only then add it to the log and show it. Raises ``ObservationError`` (nothing stored) or
        ``KnownError`` (the recording could not take it: nothing stored, nothing shown)."""
        session = self._require_session()
        with self._obs_lock:
            info = session.info
            now = self.clock.now()
            if info.ended is not None:
                raise ObservationError("the session has ended: start a new session to record observations")
            check_time(obs.t, info.started, now)
            obs = replace(obs, recorded_t=now)
            warnings: list[str] = []
            if obs.amends is not None:
                original = self.observations.get(obs.amends)
                if original is None:
                    raise ObservationError("the observation to amend is not part of this session")
                if original.kind is not obs.kind:
                    raise ObservationError(f"an amendment keeps the kind of the original ({original.kind.value})")
                obs = replace(obs, amends=self.observations.root_of(obs.amends))
            sets_t0 = obs.kind is ObsKind.DOSE and obs.amends is None and info.t0 is None
            if obs.kind is ObsKind.DOSE:
                warnings += self._dose_warnings(obs, sets_t0)
                if warnings:
                    obs = replace(obs, data={**obs.data, "warnings": warnings})
            elif obs.kind is ObsKind.CADSS:
                obs = replace(obs, data={**obs.data, **self._cadss_flags(obs, info)})
            elif obs.kind is ObsKind.DISCHARGE:
                status = self.schedule_status(now)
                if info.t0 is None:
                    raise ObservationError("discharge is only possible after the first dose and the minimum observation time")
                if status is not None and not status.discharge.allowed:
                    raise ObservationError("discharge is not allowed yet: " + "; ".join(status.discharge.reasons))
            event = SessionEvent(
                EventKind.AMENDMENT if obs.amends else EventKind.OBSERVATION, obs.t, f"user:{obs.author}", obs.record()
            )
            self._record_event(event, to_ui=False)  # commits (raises KnownError) before anything is shown
            self.observations.add(obs)
        self.ui_events.put(event)
        if sets_t0:
            self.mark_dose(obs.t, user=obs.author)
        scale = SCALES.get(obs.kind)
        if scale is not None and scale.alarm_channel is not None:
            self.alarms.observe(scale.alarm_channel, float(obs.data[scale.value_field]), obs.t)
        elif obs.kind is ObsKind.MANUAL_VITALS:
            self._put_manual(obs)
        elif obs.kind is ObsKind.DISCHARGE:
            self.end_session("discharged", user=obs.author)
        return RecordResult(obs, tuple(warnings), describe(obs))

    def _dose_warnings(self, obs: Observation, sets_t0: bool) -> list[str]:
        """Spravato devices under the minimum gap; the dosing-protocol gate for the dose that sets t0."""
        tpl = self.template
        self._require_session()
        if sets_t0:
            gate = self.dose_gate()
            if gate.state is not DoseGateState.OK:
                raise ObservationError(gate.message)
        out: list[str] = []
        if obs.amends is None and tpl is not None and tpl.device_gap_s is not None:
            for prev in self.observations.current(ObsKind.DOSE):
                gap = abs(obs.t - prev.t)
                if gap < tpl.device_gap_s:
                    out.append(
                        f"devices {gap / 60:.1f} min apart: the label asks for {tpl.device_gap_s / 60:g} min between devices"
                    )
                    break
        return out

    def _cadss_flags(self, obs: Observation, info: SessionInfo) -> dict[str, Any]:
        """'Dissociation present' against the pre-dose CADSS (total > 4 and above baseline)."""
        base = None
        if info.t0 is not None and obs.t >= info.t0:
            pre = [o for o in self.observations.current(ObsKind.CADSS) if o.t < info.t0 and o.obs_id != obs.amends]
            base = int(pre[-1].data["total"]) if pre else None
        total = int(obs.data["total"])
        return {"baseline_total": base, "dissociation": total > 4 and total > (base or 0)}

    def _put_manual(self, obs: Observation) -> None:
        """Manual vitals become readings of source "manual", shown and recorded like device readings."""
        sid = self._active_session_id()
        if self._manual_registered != sid:
            self._manual_registered = sid
            self.register_device(DeviceInfo(MANUAL_SOURCE, "Manual entry", "manual", MANUAL_STALE_S))
        readings = [Reading(MANUAL_SOURCE, ch, obs.t, float(v)) for ch, v in obs.data["values"].items()]
        if "nibp_sys" in obs.data["values"]:
            sys_, dia = float(obs.data["values"]["nibp_sys"]), float(obs.data["values"]["nibp_dia"])
            readings.append(Reading(MANUAL_SOURCE, "nibp_map", obs.t, round(dia + (sys_ - dia) / 3.0)))
        self.put_readings(readings)

    def _require_session(self) -> Session:
        if self._session is None:
            raise ValueError("no session is running: start a new session first")
        return self._session

    def _active_session_id(self) -> int | None:
        s = self._session
        if s is None:
            return None
        info = s.info
        return info.session_id if info.ended is None else None

    def _record_event(self, event: SessionEvent, to_ui: bool = True) -> None:
        """Show the event and record it: session milestones commit at once, the rest in the batch."""
        if to_ui:
            self.ui_events.put(event)
        s = self._session
        if self._recorder is None or s is None or s.info.session_id is None:
            return
        if s.info.ended is not None and event.kind is not EventKind.SESSION_ENDED:
            return
        if event.kind in (EventKind.DEVICE_STATUS, EventKind.TECHNICAL_NOTICE, EventKind.ALARM):
            self._recorder.submit_event(s.info.session_id, event)
        else:
            self._recorder.add_event(s.info.session_id, event)

    def _register_with_recorder(self, info: DeviceInfo) -> None:
        sid = self._active_session_id()
        if self._recorder is not None and sid is not None:
            self._recorder.register_device(sid, info)

    # ---- devices ------------------------------------------------------------------------------
    def devices(self) -> list[DeviceView]:
        """Copies of every device's state, for the status line."""
        with self._devices_lock:
            return [DeviceView(d.info, d.state, d.detail, d.last_data_t, d.last_data_real) for d in self._devices.values()]

    # ---- the core thread ----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("core already started")
        self._thread = threading.Thread(target=self._run, name="core", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Process everything already delivered, then stop the thread."""
        if self._thread is None:
            return
        self._inbox.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("core thread did not stop within %.1f s", timeout_s)
        self._thread = None

    def process_pending(self) -> None:
        """Handle everything queued so far on the calling thread, then run one alarm tick
        (tests without the core thread)."""
        self._drain(block=False)
        self._alarm_tick()

    def _run(self) -> None:
        next_watch = next_alarm = time.monotonic()
        while True:
            if not self._drain(block=True):
                return
            mono = time.monotonic()
            if mono >= next_watch:
                self._watch_links()
                next_watch = time.monotonic() + 0.25
            if mono >= next_alarm:
                self._alarm_tick()
                next_alarm = mono + ALARM_TICK_S

    def _drain(self, block: bool) -> bool:
        """Process one batch from the inbox; False once the stop marker is reached."""
        readings: list[Reading] = []
        try:
            item = self._inbox.get(timeout=0.1) if block else self._inbox.get_nowait()
        except queue.Empty:
            return True
        keep_going = True
        for _ in range(10_000):
            if item is _STOP:
                keep_going = False
                break
            if isinstance(item, list):
                readings.extend(item)
            else:
                self._handle(item)
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
        if readings:
            self._ingest(readings)
        if not block and keep_going and not self._inbox.empty():
            return self._drain(block=False)
        return keep_going

    def _ingest(self, readings: list[Reading]) -> None:
        readings = screen(readings)  # plausibility: before the store, the recording and the alarms see them
        store = self.store
        seen: dict[str, float] = {}
        for r in readings:
            store.add_reading(r)
            seen[r.source] = max(seen.get(r.source, r.t), r.t)
        self.readings_ingested += len(readings)
        for source, t in seen.items():
            self._saw_data(source, t)
        sid = self._active_session_id()
        if self._recorder is not None and sid is not None:
            self._recorder.submit_readings(sid, readings)
        self.alarms.on_readings(readings)

    def _handle(self, item: object) -> None:
        if isinstance(item, WaveformBlock):
            self.store.add_waveform(item)
            self._saw_data(item.source, item.t_end)
            sid = self._active_session_id()
            if self._recorder is not None and sid is not None:
                self._recorder.submit_waveform(sid, item)
        elif isinstance(item, DeviceStatus):
            self._on_status(item)
        elif isinstance(item, DeviceInfo):
            with self._devices_lock:
                self._devices[item.source] = DeviceView(item)
            self._register_with_recorder(item)
            self.alarms.register_source(item.source, item.label, item.stale_after_s)
        elif isinstance(item, TechnicalNotice):
            self._notice(item)
        else:
            raise TypeError(f"core received an unknown item {item!r}")

    def _saw_data(self, source: str, t: float) -> None:
        with self._devices_lock:
            dev = self._devices.get(source)
            if dev is None:  # a driver that did not register: still shown, with defaults
                dev = self._devices[source] = DeviceView(DeviceInfo(source, source, "unknown", 30.0))
            dev.last_data_t = t if dev.last_data_t is None else max(dev.last_data_t, t)
            dev.last_data_real = time.monotonic()
            revived = dev.state in (LinkState.NO_DATA, LinkState.CONNECTING)
        if revived:
            self._on_status(DeviceStatus(source, LinkState.STREAMING, self.clock.now()))

    def _on_status(self, status: DeviceStatus) -> None:
        with self._devices_lock:
            dev = self._devices.get(status.source)
            if dev is None:
                dev = self._devices[status.source] = DeviceView(DeviceInfo(status.source, status.source, "unknown", 30.0))
            if dev.state is status.state and dev.detail == status.detail:
                return
            dev.state, dev.detail = status.state, status.detail
            if status.state is LinkState.STREAMING:
                dev.last_data_real = time.monotonic()
            label = dev.info.label
        self.ui_events.put(status)
        data = {"state": status.state.value, "detail": status.detail}
        self._record_event(SessionEvent(EventKind.DEVICE_STATUS, status.t, status.source, data), to_ui=False)
        self.alarms.on_status(status, label)
        key = f"device:{status.source}"
        if status.state in (LinkState.LOST, LinkState.NO_DATA):
            what = "lost" if status.state is LinkState.LOST else "sends no data"
            hint = "check the cable / probe; the monitor keeps retrying"
            text = f"{label} {what}" + (f": {status.detail}" if status.detail else "") + f" — {hint}"
            self._notice(TechnicalNotice(key, text, NoticeLevel.CRITICAL, status.t))
        elif status.state is LinkState.STREAMING:
            self._notice(TechnicalNotice(key, f"{label} streaming", NoticeLevel.INFO, status.t, active=False))

    def _notice(self, notice: TechnicalNotice) -> None:
        self.ui_events.put(notice)
        data = {"key": notice.key, "message": notice.message, "level": notice.level.name, "active": notice.active}
        self._record_event(SessionEvent(EventKind.TECHNICAL_NOTICE, notice.t, "app", data), to_ui=False)
        self.alarms.on_notice(notice)

    # ---- alarms -------------------------------------------------------------------------------
    def _alarm_tick(self) -> None:
        self.alarms.tick()
        self._overdue_notices(self.clock.now())
        self.last_alarm_tick = time.monotonic()

    def _overdue_notices(self, now: float) -> None:
        """An overdue BP checkpoint (REMS: T+40, the repeats, before discharge) is also a technical
        notice: shown in the banner and recorded, cleared once the BP is taken (requirement 3). Runs
        on the core's clock tick, so it does not depend on a window repainting."""
        s = self._session
        running = s is not None and s.info.ended is None
        status = self.schedule_status(now) if running else None
        overdue = (
            {}
            if status is None
            else {
                c.checkpoint.key: c.label
                for c in status.checkpoints
                if c.state is CheckState.OVERDUE and c.checkpoint.kind is CheckKind.BP
            }
        )
        for key in self._overdue_notified.keys() - overdue.keys():
            label = self._overdue_notified.pop(key)
            self._notice(TechnicalNotice(f"checkpoint:{key}", f"{label} taken", NoticeLevel.INFO, now, active=False))
        for key, label in overdue.items():
            if key not in self._overdue_notified:
                self._overdue_notified[key] = label
                self._notice(
                    TechnicalNotice(f"checkpoint:{key}", f"{label} is overdue — take a blood pressure", NoticeLevel.WARNING, now)
                )

    def _watch_links(self) -> None:
        now, real = self.clock.now(), time.monotonic()
        silent: list[tuple[str, float]] = []
        with self._devices_lock:
            for dev in self._devices.values():
                if dev.state is not LinkState.STREAMING or dev.last_data_t is None:
                    continue
                gap = now - dev.last_data_t
                if gap > dev.info.stale_after_s and real - dev.last_data_real > MIN_REAL_SILENCE_S:
                    silent.append((dev.info.source, gap))
        for source, gap in silent:
            self._on_status(DeviceStatus(source, LinkState.NO_DATA, now, f"no data for {gap:.0f} s"))


def _session_data(info: SessionInfo) -> dict[str, object]:
    return {"patient_id": info.patient_id, "protocol": info.protocol.value, "clinician": info.clinician}
