"""The composition root of the bedside program: builds every part, wires them, starts them in order
and stops them in reverse (drivers → core → recorder → database → Qt), so a shutdown, a Ctrl+C or
``--minutes`` never loses what the devices already delivered."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import gui_gc
from app.crash import EXIT_BUG, CrashHandler
from app.device_store import close_catalogs
from app.pipeline import Pipeline
from monitor.clock import SessionClock
from monitor.errors import ConfigError
from monitor.events import NoticeLevel, TechnicalNotice
from monitor.ports import Driver
from monitor.session import DosingProtocol, Session, SessionInfo, validate_patient_id

if TYPE_CHECKING:
    from app.session_replay import SessionReplay, TimelinePlayer

log = logging.getLogger(__name__)

CONTROL_INTERVAL_MS = 100
#: The amount the demo records for a ketamine (non-device) protocol: a made-up demo figure for a
#: simulated patient, not a dosing recommendation.
DEMO_KETAMINE_DOSE_MG = 35.0


def _protocol(name: str) -> DosingProtocol:
    try:
        return DosingProtocol(name.lower().replace("-", "_"))
    except ValueError:
        known = ", ".join(p.value for p in DosingProtocol)
        raise ConfigError(f"unknown protocol {name!r}; known protocols: {known}") from None


def _build_drivers(args: argparse.Namespace, pipeline: Pipeline) -> tuple[list[Driver], Any]:
    """The simulated or replayed devices of --demo / --replay (remembered real devices are started by
    the controller). Built before anything starts, so an unknown scenario or a missing record is one
    clear message."""
    from devices.replay.physionet import ReplayDriver
    from devices.sim.scenario import load_scenario
    from devices.sim.simulated import simulated_devices

    for flag, given in (("--demo-ble", args.demo_ble), ("--via-serial", args.via_serial), ("--demo-nurse", args.demo_nurse)):
        if given and not args.demo:
            raise ConfigError(f"{flag} needs --demo SCENARIO")
    if args.demo:
        scenario = load_scenario(args.demo)
        drivers: list[Driver] = list(simulated_devices(scenario, pipeline.clock, pipeline.t0, seed=args.seed))
        if args.via_serial:  # issue 3: the oximeter as a Contec CMS50 V7 on a pty
            from devices.sim.protocol_sims import SerialLoopback
            from devices.sim.simulated import SimulatedOximeter

            label = "Simulated CMS50 oximeter (serial, pty)"
            drivers = [
                SerialLoopback("cms50-v7", pipeline.clock, scenario, pipeline.t0, seed=args.seed, label=label)
                if isinstance(d, SimulatedOximeter)
                else d
                for d in drivers
            ]
        if args.demo_ble:  # issue 4: simulated BLE devices over bumble's virtual link
            from devices.sim.ble_peripherals import simulated_ble_devices

            drivers += simulated_ble_devices(scenario, pipeline.clock, pipeline.t0, seed=args.seed)
        return drivers, scenario
    if args.replay:
        return [ReplayDriver(args.replay, pipeline.clock)], None
    return [], None


def _open_replay(args: argparse.Namespace) -> SessionReplay | None:
    """The recorded session of --replay-session, checked before anything starts (one clear line
    for a bad speed, a missing session or an unreadable source database)."""
    replay_session = getattr(args, "replay_session", None)
    from_db = getattr(args, "from_db", None)
    if replay_session is None:
        if from_db is not None:
            raise ConfigError("--from-db only applies to --replay-session ID|latest")
        return None
    from app.session_replay import MAX_SPEED, MIN_SPEED, open_session_replay

    if not MIN_SPEED <= args.speed <= MAX_SPEED:
        raise ConfigError(f"--speed {args.speed:g} is outside {MIN_SPEED:g}-{MAX_SPEED:g}: a recorded session replays at 1x-60x")
    return open_session_replay(replay_session, from_db, args.db)


def run_bedside(args: argparse.Namespace) -> int:
    """Run the dashboard until the window closes, ``--minutes`` pass, or a signal arrives."""
    if getattr(args, "patient", None) is not None:  # before anything starts: one line, not a traceback
        try:
            validate_patient_id(args.patient)
        except ValueError as exc:
            raise ConfigError(f"--patient: {exc}") from None
    replay = _open_replay(args)
    if args.speed != 1.0 and not (args.demo or args.replay or replay):
        raise ConfigError("--speed only applies to simulated (--demo) or replayed (--replay, --replay-session) sessions")
    try:
        protocol = replay.record.protocol if replay is not None else _protocol(args.protocol)
        # StorageError → one line, exit 1; a replayed session is recorded apart from its source
        pipeline = Pipeline(SessionClock(speed=args.speed), replay.target_url if replay is not None else args.db)
    except BaseException:
        if replay is not None:
            replay.close()
        raise
    try:
        drivers, scenario = _build_drivers(args, pipeline)
    except BaseException:
        pipeline.close()
        if replay is not None:
            replay.close()
        raise
    for item in pipeline.interrupted:
        print(f"session-monitor: {item.message()}", file=sys.stderr)
    crash = CrashHandler()
    crash.install()
    pipeline.start()
    code = 1
    try:
        code = _run_qt(args, pipeline, drivers, scenario, protocol, crash, replay)
    finally:
        try:
            pipeline.close(end_reason="time limit (--minutes)" if args.minutes else "program closed")
        finally:
            crash.uninstall()
            if replay is not None:
                replay.close()  # after the drivers stopped reading it; removes the throw-away database
    return pipeline.exit_status(code)  # non-zero if readings went to the emergency journal


def _run_qt(
    args: argparse.Namespace,
    pipeline: Pipeline,
    drivers: list[Driver],
    scenario: Any,
    protocol: DosingProtocol,
    crash: CrashHandler,
    replay: SessionReplay | None = None,
) -> int:
    from PySide6.QtWidgets import QApplication

    from app import qt_logging

    qt_logging.install()
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    qt.setApplicationName("Session Monitor")
    gui_gc.install()  # before the devices start: cyclic garbage with Qt objects only on this thread
    controller = _Controller(args, pipeline, scenario, crash)
    if replay is not None:
        drivers = drivers + controller.start_replay(replay)
    elif args.demo or args.replay:
        controller.start_session(protocol)
    if (replay is not None or args.demo or args.replay) and controller.window.last_error:
        # the session of --demo / --replay could not start (its recording refused it): say so and
        # stop, never a dashboard that monitors with a silent "No session" (issue 13, finding 2)
        print(f"session-monitor: the session could not start: {controller.window.last_error}", file=sys.stderr)
        controller.abandon()
        return 1
    controller.announce_interrupted()  # after the session start, so its record keeps the notices too
    for driver in drivers:
        pipeline.add_driver(driver)
    return controller.run()


class _Controller:
    """The bedside program's GUI-thread control: one 100 ms timer watches for a crash, a signal,
    the demo's automatic dose and the end of ``--minutes``; it takes the screenshot while the
    window is still up (Qt 6 closes windows on quit)."""

    def __init__(self, args: argparse.Namespace, pipeline: Pipeline, scenario: Any, crash: CrashHandler) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        from app.demo_nurse import DemoNurse
        from ui.alarm_audio import QtAlarmSound
        from ui.core_adapter import CoreAdapter
        from ui.main_window import MainWindow

        self._args, self._pipeline, self._crash = args, pipeline, crash
        self._clock, self._core = pipeline.clock, pipeline.core
        self._qt = QApplication.instance()
        self._dose_after_s: float | None = scenario.demo.dose_after_s if scenario is not None else None
        self._nurse = DemoNurse(self._core) if args.demo_nurse and scenario is not None else None
        self._timeline: TimelinePlayer | None = None  # --replay-session: the recorded dose, observations, ...
        self._exit = 0
        self._signal: int | None = None
        self._started = self._clock.now()  # --minutes counts from here while no session runs
        self._screenshot_taken = False
        self.adapter = CoreAdapter.for_core(self._core)
        self.window = MainWindow(self._core, self._clock, self.adapter, sound=QtAlarmSound())
        self.window.show_on_screen()  # fitted to the screen it is on (issue 14)
        self._timer = QTimer()
        self._timer.setInterval(CONTROL_INTERVAL_MS)
        self._timer.timeout.connect(self._control)
        self._devices = self._start_remembered_devices()
        self.window.devices_requested.connect(self.open_device_dialog)
        self._start_alarm_safety()
        if crash.previous_crash is not None:
            text = f"The previous run ended with an internal error; report: {crash.previous_crash}"
            self._core.post_notice(TechnicalNotice("app.previous-crash", text, NoticeLevel.WARNING, self._clock.now()))

    def _start_alarm_safety(self) -> None:
        """Issue 5: the workstation's alarm configuration (HR-limit confirmation, responsible-
        organization PIN) and the alarm watchdog with its OS-level fallback tone (requirement 25),
        which watches the core's alarm tick and this window's frames."""
        from app.watchdog import watch_core_and_display
        from app.workstation_store import JsonWorkstationConfig

        self._core.alarms.attach_config(JsonWorkstationConfig())
        self._last_frame = time.monotonic()

        def frame_seen(_now: float) -> None:
            self._last_frame = time.monotonic()

        self.adapter.frame.connect(frame_seen)
        self.watchdog = watch_core_and_display(self._core, lambda: self._last_frame)

    def _start_remembered_devices(self) -> Any:
        """Reconnect the workstation's remembered devices; one that cannot be built is a notice, not a failed start."""
        from app.device_store import JsonDeviceStore, RunningDevices, device_catalogs, remembered_drivers

        self._device_store = JsonDeviceStore()
        self._catalogs = device_catalogs()
        running = RunningDevices(self._catalogs, self._clock, self._pipeline.add_driver, self._pipeline.remove_driver)
        drivers, problems = remembered_drivers(self._device_store, self._catalogs, self._clock)
        for driver in drivers:
            self._pipeline.add_driver(driver)
        if drivers:
            running.adopt(self._device_store.load(), drivers)
        self._device_notices(problems)
        return running

    def _device_notices(self, problems: list[str]) -> None:
        for text in problems:
            log.warning("device setup: %s", text)
            self._core.post_notice(TechnicalNotice("app.device-setup", text, NoticeLevel.WARNING, self._clock.now()))

    def open_device_dialog(self) -> Any:
        """The "Devices…" button: add / test / remove devices; changes take effect at once."""
        from ui.device_dialog import DeviceDialog

        dialog = DeviceDialog(self._catalogs, self._device_store, self._clock, parent=self.window)
        dialog.devices_changed.connect(self._on_devices_changed)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _on_devices_changed(self, configs: list[Any]) -> None:
        self._device_notices(self._devices.apply(configs))

    def start_session(self, protocol: DosingProtocol) -> None:
        args = self._args
        name = Path(args.replay).name if args.replay else args.demo
        patient = args.patient or ("SIM-" if args.demo else "REPLAY-") + "".join(ch for ch in name if ch.isalnum())[:24]
        clinician = args.clinician or ("Demo nurse" if args.demo else "Tester")
        info = SessionInfo(patient, protocol, clinician, self._clock.now(), speed=self._clock.speed)
        self.window.start_session(Session(info))

    def start_replay(self, replay: SessionReplay) -> list[Driver]:
        """Start a live session for --replay-session (the recorded patient pseudonym, as it is, and
        protocol) and return the recorded devices' drivers, all mapped to its start; the control
        timer then plays the recorded clinical timeline."""
        args, rec = self._args, replay.record
        clinician = args.clinician or rec.clinician
        info = SessionInfo(args.patient or rec.patient_id, rec.protocol, clinician, self._clock.now(), speed=self._clock.speed)
        if not self.window.start_session(Session(info)):
            return []
        session = self._core.session
        assert session is not None
        started = session.info.started
        self._timeline = replay.timeline(self._core, started)
        return list(replay.drivers(self._clock, started))

    def run(self) -> int:
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        gui_gc.freeze_startup()  # the built program out of the collector's sight: short GUI-thread collections
        self.adapter.start()
        self._timer.start()
        self._last_frame = time.monotonic()
        self.watchdog.start()
        try:
            self._qt.exec()
        finally:
            self.watchdog.stop()
            self._timer.stop()
            self.adapter.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
        self._pipeline.stop_sources()
        close_catalogs(self._catalogs)  # after the drivers: the BLE loop thread goes last
        if self._args.screenshot and not self._screenshot_taken:  # the user closed the window
            self._take_screenshot()
        if self._crash.crashed and self._qt.platformName() not in ("offscreen", "minimal"):
            from PySide6.QtWidgets import QMessageBox

            text = f"Internal error — the recording was saved.\n{self._crash.crashed}\nReport: {self._crash.report_path}"
            QMessageBox.critical(self.window, "Session Monitor", text)
        self.window.sounder.close()
        self.window.close()
        return self._exit

    def announce_interrupted(self) -> None:
        """A banner per session a previous run left unfinished (already marked interrupted)."""
        for item in self._pipeline.interrupted:
            key = f"app.interrupted-session:{item.session_id}"
            self._core.post_notice(TechnicalNotice(key, item.message(), NoticeLevel.WARNING, self._clock.now()))

    def abandon(self) -> None:
        """Close what the controller built when the program stops before ``run()``."""
        self.watchdog.stop()
        self._pipeline.stop_sources()
        close_catalogs(self._catalogs)
        self.window.sounder.close()
        self.window.close()

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._signal = signum  # acted on by the next control tick, on the GUI thread

    def _control(self) -> None:
        if self._crash.crashed:
            self._finish(EXIT_BUG)
            return
        if self._signal is not None:
            log.warning("signal %s: shutting down", self._signal)
            self._finish(0)
            return
        session = self._core.session
        if session is None:
            if self._args.minutes is not None and self._clock.now() - self._started >= self._args.minutes * 60:
                self._finish(self._exit)  # --minutes always ends, a session or not
            return
        info, now = session.info, self._clock.now()
        if self._nurse is not None:  # before the demo dose: its pre-dose checklist comes first
            self._nurse.step()
        if self._dose_after_s is not None and info.t0 is None and info.ended is None and now - info.started >= self._dose_after_s:
            # on time; or, when the first tick comes late (a slow start at high speed), just after what
            # the nurse recorded before it (at the next tick if that was this one)
            entered = [o.t + 0.001 for o in self._core.observations.current()]
            dose_t = max([info.started + self._dose_after_s, *entered])
            if dose_t <= now:
                try:
                    self._demo_dose(dose_t)
                except ValueError as exc:  # refused by the protocol (e.g. t0 set by hand meanwhile): shown, not fatal
                    log.warning("demo dose refused: %s", exc)
        if self._timeline is not None:
            self._timeline.step(now)
        if self._args.minutes is not None and now - info.started >= self._args.minutes * 60:
            self._finish(self._exit)

    def _demo_dose(self, t: float) -> None:
        """The demo's automatic dose goes through the protocol like a nurse's: it waits for the
        pre-dose BP (the first simulated cuff reading) and has a high one acknowledged by the demo
        prescriber, then records the first administration, which sets t0."""
        from monitor import observations as ob
        from monitor.schedule import DoseGateState

        core = self._core
        session = core.session
        tpl = core.template
        if session is None:
            return
        gate = core.dose_gate()
        if gate.state is DoseGateState.NEED_BP:
            return  # the first cuff reading is not in yet: the next tick tries again
        if gate.state is DoseGateState.NEED_ACK and gate.bp is not None:
            core.record_observation(ob.bp_caution_ack(self._clock.now(), "demo prescriber", gate.bp.sys, gate.bp.dia))
        if tpl is None:
            core.mark_dose(t, user="demo")
            return
        device = 1 if tpl.device_mg is not None else None
        dose_mg = tpl.device_mg or DEMO_KETAMINE_DOSE_MG
        core.record_observation(ob.dose(t, "demo", drug=tpl.drug, route=tpl.route, dose_mg=dose_mg, lot="DEMO", device=device))

    def _finish(self, code: int) -> None:
        self._exit = code
        if self._args.screenshot and not self._screenshot_taken:
            self.adapter.tick()
            self._take_screenshot()
        self._timer.stop()
        self._qt.quit()

    def _take_screenshot(self) -> None:
        self._screenshot_taken = True
        try:
            self.window.save_screenshot(Path(self._args.screenshot))
        except OSError as exc:
            log.error("could not save the screenshot: %s", exc)
            print(f"session-monitor: could not save the screenshot {self._args.screenshot}: {exc}", file=sys.stderr)
            self._exit = self._exit or 1
