"""Helpers shared by the recordings tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import threading
import time

from monitor.events import TechnicalNotice
from monitor.session import DosingProtocol, SessionInfo

T_START = 1_800_000_000.0


class Notices:
    """A NoticeSink that remembers what it was told (thread-safe: the recorder posts from its thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[TechnicalNotice] = []

    def post_notice(self, notice: TechnicalNotice) -> None:
        with self._lock:
            self._items.append(notice)

    @property
    def items(self) -> list[TechnicalNotice]:
        with self._lock:
            return list(self._items)

    def with_key(self, key: str) -> list[TechnicalNotice]:
        return [n for n in self.items if n.key == key]

    def wait_for(self, predicate, timeout_s: float = 10.0) -> TechnicalNotice:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for n in self.items:
                if predicate(n):
                    return n
            time.sleep(0.01)
        raise AssertionError(f"no matching notice within {timeout_s} s; got {self.items}")


def session_info(patient: str = "P-0001", started: float = T_START) -> SessionInfo:
    return SessionInfo(patient, DosingProtocol.SPRAVATO, "Nurse Test", started)
