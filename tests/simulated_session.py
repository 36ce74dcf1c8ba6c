"""Record a simulated scenario through the real pipeline (simulated devices → core → recorder →
database), as several end-to-end tests need it: start, dose after the scenario's pre-dose cuff
reading, monitor for a while, end."""

from __future__ import annotations

import time
from collections.abc import Callable

from app.pipeline import Pipeline
from devices.sim.scenario import load_scenario
from devices.sim.simulated import simulated_devices
from monitor.clock import SessionClock
from monitor.observations import ObservationError
from monitor.session import DosingProtocol, SessionInfo

#: (minutes after the dose, action) — run once the session clock reaches that minute.
Step = tuple[float, Callable[[Pipeline, float], object]]


def wait_until(predicate: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def dose_when_ready(pipeline: Pipeline, dose_at: float, timeout_s: float = 10.0) -> None:
    """Mark the dose at ``dose_at`` once the core lets it: at 600x the driver may have delivered the
    pre-dose cuff reading that the core thread has not ingested yet, and the BP gate refuses."""

    def dose() -> bool:
        try:
            pipeline.core.mark_dose(dose_at)
        except ObservationError:
            return False
        return True

    wait_until(dose, timeout_s)


def record_scenario(
    db_url: str,
    scenario_name: str,
    minutes_after_dose: float,
    *,
    patient_id: str = "SIM-TEST",
    protocol: DosingProtocol = DosingProtocol.SPRAVATO,
    seed: int = 3,
    speed: float = 600.0,
    steps: list[Step] | None = None,
) -> None:
    clock = SessionClock(speed=speed)
    scenario = load_scenario(scenario_name)
    pipeline = Pipeline(clock, db_url)
    pipeline.start()
    try:
        info = pipeline.start_session(SessionInfo(patient_id, protocol, "Test nurse", clock.now(), speed=speed)).info
        for driver in simulated_devices(scenario, clock, pipeline.t0, seed=seed):
            pipeline.add_driver(driver)
        dose_at = info.started + scenario.demo.dose_after_s
        wait_until(lambda: clock.now() >= dose_at, 10)
        dose_when_ready(pipeline, dose_at)
        for minute, action in sorted(steps or [], key=lambda s: s[0]):
            wait_until(lambda m=minute: clock.now() >= dose_at + m * 60, 60)
            action(pipeline, dose_at)
        wait_until(lambda: clock.now() >= dose_at + minutes_after_dose * 60, 60)
    finally:
        pipeline.close(end_reason="test finished")
