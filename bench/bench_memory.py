"""Memory: RSS growth of the whole bedside program between session minute 30 and minute 240.

Runs the real pipeline (simulated oximeter with 75 Hz pleth + cuff, core, recorder into SQLite) and
the dashboard on the "whole session" view with its frame timer, at 600x, and samples the process's
resident set size every 30 session-minutes. Reference: the RSS at minute 30 (the growth is also
given as a percentage of it). Target: growth <= 20 MB.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app import gui_gc
from app.pipeline import Pipeline
from bench.report import verdict
from devices.sim.scenario import load_scenario
from devices.sim.simulated import simulated_devices
from monitor.clock import SessionClock
from monitor.session import DosingProtocol, Session, SessionInfo
from ui.core_adapter import CoreAdapter
from ui.main_window import MainWindow
from ui.trend_panel import TrendWindow

SPEED = 600.0
END_MIN = 240


def main() -> None:
    qt = QApplication.instance() or QApplication([])
    gui_gc.install()  # as the program does: cyclic garbage collected on the GUI thread only
    proc = psutil.Process()
    clock = SessionClock(speed=SPEED)
    tmp = tempfile.TemporaryDirectory()
    pipeline = Pipeline(clock, f"sqlite:///{Path(tmp.name) / 'memory.db'}")
    pipeline.start()
    adapter = CoreAdapter.for_core(pipeline.core)
    window = MainWindow(pipeline.core, clock, adapter)
    window.set_trend_window(TrendWindow.SESSION)
    window.show()
    gui_gc.freeze_startup()  # as the program does before its event loop
    scenario = load_scenario("ketamine-typical")
    info = SessionInfo("BENCH-MEM", DosingProtocol.SPRAVATO, "Bench", clock.now(), speed=SPEED)
    window.start_session(Session(info))
    for driver in simulated_devices(scenario, clock, pipeline.t0, seed=1):
        pipeline.add_driver(driver)
    adapter.start()

    samples: dict[int, float] = {}
    dosed = [False]

    def check() -> None:
        minute = (clock.now() - info.started) / 60
        if not dosed[0] and minute * 60 >= scenario.demo.dose_after_s:
            pipeline.core.mark_dose(info.started + scenario.demo.dose_after_s)
            dosed[0] = True
        mark = int(minute // 30) * 30
        if mark >= 30 and mark not in samples:
            samples[mark] = proc.memory_info().rss / 2**20
        if minute >= END_MIN:
            qt.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(20)
    qt.exec()
    timer.stop()
    adapter.stop()
    rows = pipeline.core.readings_ingested
    pipeline.close()
    window.close()
    tmp.cleanup()

    growth = samples[END_MIN] - samples[30]
    print("memory: RSS by session minute: " + ", ".join(f"{m}: {mb:.1f} MB" for m, mb in sorted(samples.items())))
    print(f"memory: {rows} readings ingested over {END_MIN} session-minutes at {SPEED:.0f}x")
    print(f"memory: growth minute 30 -> {END_MIN}: {growth:+.1f} MB ({100 * growth / samples[30]:+.1f} % of the minute-30 RSS)")
    print(f"memory: target growth <= 20 MB: {verdict(growth <= 20)}")


if __name__ == "__main__":
    main()
