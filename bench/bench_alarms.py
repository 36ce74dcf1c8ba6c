"""Alarm latency: from a reading entering the core (``put_readings``) to the alarm state change
being visible to the GUI (the AlarmEvent in ``Core.ui_events``), p50 / p99, beyond the configured
condition delay (0 s by default, subtracted anyway).

Load: the real pipeline (core thread + recorder thread writing to SQLite) with 10 bench devices,
each delivering an SpO2 reading every 10 ms (10 devices × 100 readings/s, every one evaluated by
the SpO2 rules). A probe thread alternates a pulse rate of 130 /min (raises "HR / PR high") and
75 /min (clears it) and waits for each transition. Reference, same run and same load: the plain
ingest latency of a reading that raises nothing (a temperature reading, until the live store shows
it; polled every 0.2 ms). Target: p99 <= 20 ms.
"""

from __future__ import annotations

import queue
import tempfile
import threading
import time
from pathlib import Path

from app.pipeline import Pipeline
from bench.report import median, percentile, verdict
from monitor.alarms import AlarmEvent, Transition
from monitor.clock import SessionClock
from monitor.readings import Reading
from monitor.session import DosingProtocol, SessionInfo

RUN_S = 20.0
DEVICES = 10
READINGS_PER_S = 100
PROBE = "bench:probe"


def main() -> None:
    clock = SessionClock(speed=1.0)
    tmp = tempfile.TemporaryDirectory()
    pipeline = Pipeline(clock, f"sqlite:///{Path(tmp.name) / 'alarms.db'}")
    pipeline.start()
    core = pipeline.core
    pipeline.start_session(SessionInfo("BENCH-ALARM", DosingProtocol.SPRAVATO, "Bench", clock.now()))
    delay_s = core.alarms.preset().rule("hr_high").delay_s
    stop = threading.Event()
    transitions: queue.SimpleQueue[tuple[Transition, float]] = queue.SimpleQueue()

    def gui() -> None:  # stands in for the GUI: drains ui_events as they come
        while not stop.is_set():
            try:
                e = core.ui_events.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(e, AlarmEvent) and e.key == "hr_high":
                transitions.put((e.transition, time.perf_counter()))

    def device(i: int) -> None:
        source = f"bench:oximeter{i}"
        while not stop.is_set():
            core.put_readings([Reading(source, "spo2", clock.now(), 97.0)])
            stop.wait(1.0 / READINGS_PER_S)

    alarm_ms: list[float] = []
    ingest_ms: list[float] = []

    def probe() -> None:
        value = 36.0
        while not stop.is_set():
            for pr, expected in ((130.0, Transition.RAISED), (75.0, Transition.CLEARED)):
                sent = time.perf_counter()
                core.put_readings([Reading(PROBE, "pr", clock.now(), pr)])
                try:
                    transition, seen = transitions.get(timeout=2.0)
                except queue.Empty:
                    print(f"alarms: no {expected.value} event within 2 s")
                    return
                assert transition is expected, transition
                alarm_ms.append((seen - sent - delay_s) * 1000)
                stop.wait(0.01)
            value = 36.0 if value > 37.5 else value + 0.1
            sent = time.perf_counter()
            core.put_readings([Reading(PROBE, "temp", clock.now(), value)])
            while (r := core.store.latest("temp")) is None or r.value != value:
                time.sleep(0.0002)
            ingest_ms.append((time.perf_counter() - sent) * 1000)
            stop.wait(0.01)

    threads = [threading.Thread(target=gui, name="bench:gui")]
    threads += [threading.Thread(target=device, args=(i,), name=f"driver:bench{i}") for i in range(DEVICES)]
    threads.append(threading.Thread(target=probe, name="bench:probe"))
    before = core.readings_ingested
    for t in threads:
        t.start()
    time.sleep(RUN_S)
    stop.set()
    for t in threads:
        t.join()
    rate = (core.readings_ingested - before) / RUN_S
    pipeline.close()
    tmp.cleanup()

    p50, p99 = percentile(alarm_ms, 50), percentile(alarm_ms, 99)
    r50, r99 = median(ingest_ms), percentile(ingest_ms, 99)
    print(
        f"alarms: {len(alarm_ms)} alarm transitions under {DEVICES} devices x {READINGS_PER_S} readings/s "
        f"({rate:.0f} readings/s ingested) in {RUN_S:.0f} s; condition delay {delay_s:.1f} s subtracted"
    )
    print(f"alarms: reading -> alarm event visible to the GUI p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(alarm_ms):.2f} ms")
    print(
        f"alarms: reference plain ingest (no alarm) p50 {r50:.2f} ms, p99 {r99:.2f} ms; alarm p50 / ingest p50 = {p50 / r50:.2f}"
    )
    print(f"alarms: target p99 <= 20 ms: {verdict(p99 <= 20)}")


if __name__ == "__main__":
    main()
