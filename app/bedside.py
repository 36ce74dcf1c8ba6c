"""The composition root of the bedside program: builds every part, wires them, starts them in order
and stops them in reverse (drivers → core → recorder → database → Qt), so a shutdown, a Ctrl+C or
``--minutes`` never loses what the devices already delivered."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from monitor.clock import SessionClock
from monitor.errors import ConfigError
from monitor.ports import Driver
from monitor.session import DosingProtocol, Session, SessionInfo

from app.crash import EXIT_BUG, CrashHandler
from app.pipeline import Pipeline

log = logging.getLogger(__name__)

CONTROL_INTERVAL_MS = 100


def _protocol(name: str) -> DosingProtocol:
    try:
        return DosingProtocol(name.lower().replace("-", "_"))
    except ValueError:
        known = ", ".join(p.value for p in DosingProtocol)
        raise ConfigError(f"unknown protocol {name!r}; known protocols: {known}") from None


def _build_drivers(args: argparse.Namespace, pipeline: Pipeline) -> tuple[list[Driver], Any]:
    """The devices for --demo / --replay (real serial and BLE devices come with their own issues).
    Built before anything starts, so an unknown scenario or a missing record is one clear message."""
    from devices.replay import ReplayDriver
    from devices.scenario import load_scenario
    from devices.simulated import simulated_devices

    if args.demo:
        scenario = load_scenario(args.demo)
        return list(simulated_devices(scenario, pipeline.clock, pipeline.t0, seed=args.seed)), scenario
    if args.replay:
        return [ReplayDriver(args.replay, pipeline.clock)], None
    return [], None


def run_bedside(args: argparse.Namespace) -> int:
    """Run the dashboard until the window closes, ``--minutes`` pass, or a signal arrives."""
    if args.speed != 1.0 and not (args.demo or args.replay):
        raise ConfigError("--speed only applies to simulated (--demo) or replayed (--replay) sessions")
    protocol = _protocol(args.protocol)
    pipeline = Pipeline(SessionClock(speed=args.speed), args.db)  # StorageError → one line, exit 1
    try:
        drivers, scenario = _build_drivers(args, pipeline)
    except BaseException:
        pipeline.close()
        raise
    crash = CrashHandler()
    crash.install()
    pipeline.start()
    try:
        return _run_qt(args, pipeline, drivers, scenario, protocol, crash)
    finally:
        pipeline.close(end_reason="time limit (--minutes)" if args.minutes else "program closed")
        crash.uninstall()


def _run_qt(
    args: argparse.Namespace,
    pipeline: Pipeline,
    drivers: list[Driver],
    scenario: Any,
    protocol: DosingProtocol,
    crash: CrashHandler,
) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ui.core_adapter import CoreAdapter
    from ui.main_window import MainWindow

    from app import qt_logging

    qt_logging.install()
    clock, core = pipeline.clock, pipeline.core
    qt = QApplication.instance() or QApplication(sys.argv[:1])
    qt.setApplicationName("Session Monitor")
    adapter = CoreAdapter.for_core(core)
    window = MainWindow(core, clock, adapter)
    window.show()

    if args.demo or args.replay:
        name = Path(args.replay).name if args.replay else args.demo
        patient = args.patient or ("SIM-" if args.demo else "REPLAY-") + "".join(ch for ch in name if ch.isalnum())[:24]
        clinician = args.clinician or ("Demo nurse" if args.demo else "Tester")
        session = Session(SessionInfo(patient, protocol, clinician, clock.now(), speed=clock.speed))
        window.start_session(session)
    for driver in drivers:
        pipeline.add_driver(driver)
    adapter.start()

    state = {"exit": 0, "signal": None}
    dose_after_s = getattr(getattr(scenario, "demo", None), "dose_after_s", None)

    def on_signal(signum: int, _frame: object) -> None:
        state["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def control() -> None:
        """Runs every 100 ms on the GUI thread: signals, crashes, the demo's dose, --minutes."""
        if crash.crashed:
            state["exit"] = EXIT_BUG
            qt.quit()
            return
        if state["signal"] is not None:
            log.warning("signal %s: shutting down", state["signal"])
            qt.quit()
            return
        session = core.session
        if session is None:
            return
        info = session.info
        now = clock.now()
        if dose_after_s is not None and info.t0 is None and info.ended is None and now - info.started >= dose_after_s:
            core.mark_dose(info.started + dose_after_s, user="demo")
        if args.minutes is not None and now - info.started >= args.minutes * 60:
            qt.quit()

    timer = QTimer()
    timer.setInterval(CONTROL_INTERVAL_MS)
    timer.timeout.connect(control)
    timer.start()
    try:
        qt.exec()
    finally:
        timer.stop()
        adapter.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    pipeline.stop_sources()
    adapter.tick()  # the screenshot shows everything the devices delivered
    if args.screenshot:
        try:
            window.save_screenshot(Path(args.screenshot))
        except OSError as exc:
            log.error("could not save the screenshot: %s", exc)
            print(f"session-monitor: could not save the screenshot {args.screenshot}: {exc}", file=sys.stderr)
            state["exit"] = state["exit"] or 1
    if crash.crashed and QApplication.platformName() not in ("offscreen", "minimal"):
        QMessageBox.critical(window, "Session Monitor", f"Internal error — the recording was saved.\n{crash.crashed}\nReport: {crash.report_path}")
    window.close()
    return int(state["exit"])
