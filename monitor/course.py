"""The treatment course (issue 7): every session of one patient side by side, aligned at t0.

Over an induction course (often 6-8 sessions) the prescriber wants to see whether the blood-pressure
and dissociation response is attenuating before the next dose. Each session is summarised with
``monitor.summary`` (so the course shows the same figures as the review, the report and the
exports) and carries its cuff SBP over its own pre-dose baseline against minutes from t0, for the
overlay chart.

Sessions are never dropped silently: a session without a dose (no t0) or without a pre-dose cuff
reading cannot be aligned, so it has no trend but keeps its row, with ``note`` saying why; an
interrupted session (no end recorded) is included and marked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from monitor.events import SessionEvent
from monitor.ports import SessionFilter, SessionReader
from monitor.readings import Reading
from monitor.session import SessionInfo
from monitor.summary import SessionSummary, summarize_recorded

PAGE: Final = 200  # sessions fetched per query
NO_DOSE: Final = "no dose recorded: not aligned"
NO_BASELINE: Final = "no pre-dose cuff reading: no ΔSBP"


@dataclass(frozen=True, slots=True)
class CourseEntry:
    """One session of the course. ``number``: 1-based, oldest first; ``minutes`` / ``delta_sbp``:
    the valid cuff SBP readings as minutes from t0 and mmHg over the baseline (empty when the
    session cannot be aligned)."""

    number: int
    info: SessionInfo
    summary: SessionSummary
    minutes: np.ndarray
    delta_sbp: np.ndarray

    @property
    def session_id(self) -> int | None:
        return self.info.session_id

    @property
    def aligned(self) -> bool:
        """True when the session has a dose and a baseline, so it can be drawn aligned at t0."""
        return self.info.t0 is not None and self.baseline_sbp is not None

    @property
    def interrupted(self) -> bool:
        """No end recorded: the program stopped (or is still running) before the session was ended."""
        return self.info.ended is None

    @property
    def baseline_sbp(self) -> float | None:
        return self.summary.baseline.get("nibp_sys")

    @property
    def note(self) -> str:
        """Why the session is missing from the chart ("" when it is drawn)."""
        if self.info.t0 is None:
            return NO_DOSE
        if self.baseline_sbp is None:
            return NO_BASELINE
        return ""


def course_sessions(reader: SessionReader, patient_id: str) -> list[SessionInfo]:
    """The patient's sessions, oldest first. ``patient_id`` is matched exactly: "P1" never pulls in
    "P10" (the reader's filter treats a trailing '*' as a prefix, so such an id is refused)."""
    pid = patient_id.strip()
    if not pid or pid.endswith("*"):
        raise ValueError(f"a treatment course needs one exact patient ID, not {patient_id!r}")
    flt = SessionFilter(patient_id=pid)
    infos: list[SessionInfo] = []
    while page := reader.find_sessions(flt, len(infos), PAGE):
        infos += [listing.info for listing in page]
        if len(page) < PAGE:
            break
    exact = [i for i in infos if i.patient_id == pid]  # belt and braces: a reader matching loosely
    return sorted(exact, key=lambda i: (i.started, i.session_id or 0))


def build_course(reader: SessionReader, patient_id: str, progress: Callable[[int, int], None] | None = None) -> list[CourseEntry]:
    """Every session of ``patient_id`` summarised, oldest first (one summary per session: about half a
    second for a 4-hour one). ``progress(done, total)`` is called before each session, so a window
    can say how far it is."""
    entries = []
    sessions = course_sessions(reader, patient_id)
    for number, info in enumerate(sessions, start=1):
        assert info.session_id is not None  # listed sessions come from the recording
        if progress is not None:
            progress(number - 1, len(sessions))
        readings = reader.readings(info.session_id)
        events = reader.events(info.session_id)
        entries.append(course_entry(number, info, readings, events))
    return entries


def course_entry(number: int, info: SessionInfo, readings: Sequence[Reading], events: Sequence[SessionEvent]) -> CourseEntry:
    """One session's entry from its recorded data. Observations count in their current (amended)
    version and alarms from the alarm log, as in ``recordings.summarize.summarize_session``."""
    summary = summarize_recorded(info, readings, events)
    minutes, delta = sbp_trend(info, readings, summary.baseline.get("nibp_sys"))
    return CourseEntry(number, info, summary, minutes, delta)


def sbp_trend(info: SessionInfo, readings: Sequence[Reading], baseline_sbp: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Valid cuff SBP readings as (minutes from t0, SBP - baseline), in time order; pre-dose
    readings included (the baseline reading itself shows as 0 before t0). Empty without t0 or baseline."""
    if info.t0 is None or baseline_sbp is None:
        return np.empty(0), np.empty(0)
    cuff = sorted((r for r in readings if r.channel == "nibp_sys" and r.valid and np.isfinite(r.value)), key=lambda r: r.t)
    t = np.array([r.t for r in cuff], dtype=np.float64)
    v = np.array([r.value for r in cuff], dtype=np.float64)
    return (t - info.t0) / 60.0, v - baseline_sbp
