"""Small builders shared by the dashboard tests."""

from __future__ import annotations

from monitor.clock import FakeClock
from monitor.readings import Reading
from monitor.session import DosingProtocol, Session, SessionInfo

T_START = 1_800_000_000.0
SRC = "sim:oximeter"


def make_session(clock: FakeClock, patient: str = "KX-0147") -> Session:
    return Session(SessionInfo(patient, DosingProtocol.SPRAVATO, "RN Jansen", started=clock.now()))


def readings(channel: str, values: list[float], t0: float, source: str = SRC, dt: float = 1.0) -> list[Reading]:
    return [Reading(source, channel, t0 + i * dt, v) for i, v in enumerate(values)]
