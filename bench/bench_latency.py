"""Latency: a reading's trip from a device thread to the GUI frame that shows it, p50 / p99.

The full bedside pipeline runs (simulated oximeter + cuff delivering, core thread, recorder thread
writing to SQLite, the dashboard's 16 ms frame timer). A bench "device" thread delivers an HR
reading every 5-15 ms stamped with the session clock. Before each frame redraws, the bench notes the
newest HR reading the core has stored; after the frame's redraw it notes the time. A reading's
latency is the time from its stamp to the end of the first frame that drew it or a newer one.
Reference: the frame interval itself (16 ms), the floor any pull-at-frame-rate design has.
Target: p99 <= 50 ms.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import itertools

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app import gui_gc
from app.pipeline import Pipeline
from bench.report import median, percentile, verdict
from devices.sim.scenario import load_scenario
from devices.sim.simulated import simulated_devices
from monitor.clock import SessionClock
from monitor.readings import Reading
from monitor.session import DosingProtocol, Session, SessionInfo
from ui.core_adapter import CoreAdapter
from ui.main_window import MainWindow

RUN_S = 20.0
SOURCE = "bench:ecg"


def main() -> None:
    qt = QApplication.instance() or QApplication([])
    gui_gc.install()  # as the program does: cyclic garbage collected on the GUI thread only
    clock = SessionClock(speed=1.0)
    tmp = tempfile.TemporaryDirectory()
    pipeline = Pipeline(clock, f"sqlite:///{Path(tmp.name) / 'latency.db'}")
    pipeline.start()
    core = pipeline.core
    adapter = CoreAdapter.for_core(core)

    frames: list[tuple[float, float]] = []  # (newest HR stamp drawn, end of that frame's redraw)
    pending: list[float] = []

    def before_frame(_now: float) -> None:
        latest = core.store.latest("hr")
        pending.append(latest.t if latest is not None else float("-inf"))

    def after_frame(_now: float) -> None:
        frames.append((pending.pop(), clock.now()))

    adapter.frame.connect(before_frame)  # connected before the window: runs before its redraw
    window = MainWindow(core, clock, adapter)
    adapter.frame.connect(after_frame)
    window.show()
    gui_gc.freeze_startup()  # as the program does before its event loop
    window.start_session(Session(SessionInfo("BENCH-LAT", DosingProtocol.SPRAVATO, "Bench", clock.now())))
    for driver in simulated_devices(load_scenario("ketamine-typical"), clock, pipeline.t0, seed=1):
        pipeline.add_driver(driver)

    stamps: list[float] = []
    stop = threading.Event()

    def device() -> None:
        rnd = random.Random(7)
        while not stop.is_set():
            t = clock.now()
            core.put_readings([Reading(SOURCE, "hr", t, 60 + rnd.random() * 20)])
            stamps.append(t)
            stop.wait(rnd.uniform(0.005, 0.015))

    emitter = threading.Thread(target=device, name="driver:bench", daemon=True)
    adapter.start()
    emitter.start()
    QTimer.singleShot(int(RUN_S * 1000), qt.quit)
    qt.exec()
    stop.set()
    emitter.join()
    adapter.stop()
    pipeline.close()
    window.close()
    tmp.cleanup()

    latencies_ms = []
    j = 0
    for t in stamps:
        while j < len(frames) and frames[j][0] < t:
            j += 1
        if j == len(frames):
            break
        latencies_ms.append((frames[j][1] - t) * 1000)
    intervals = [(b[1] - a[1]) * 1000 for a, b in itertools.pairwise(frames)]
    p50, p99 = percentile(latencies_ms, 50), percentile(latencies_ms, 99)
    frame_ms = median(intervals)
    print(f"latency: {len(latencies_ms)} readings over {len(frames)} frames in {RUN_S:.0f} s")
    print(f"latency: device -> drawn frame p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies_ms):.1f} ms")
    print(f"latency: reference frame interval median {frame_ms:.1f} ms; p99 / frame interval = {p99 / frame_ms:.2f}")
    print(f"latency: target p99 <= 50 ms: {verdict(p99 <= 50)}")


if __name__ == "__main__":
    main()
