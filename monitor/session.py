"""The dosing session: who, which protocol, and the clock that matters clinically, t0 = first dose."""

from __future__ import annotations

import enum
import re
import threading
from dataclasses import dataclass, replace


class DosingProtocol(enum.Enum):
    """Stored by value; values never change (clinical.md requirement 1)."""

    SPRAVATO = "spravato"
    KETAMINE_IV = "ketamine_iv"
    KETAMINE_IM = "ketamine_im"
    KETAMINE_SL = "ketamine_sl"

    @property
    def label(self) -> str:
        return _PROTOCOL_LABELS[self]


_PROTOCOL_LABELS = {
    DosingProtocol.SPRAVATO: "Spravato (esketamine) intranasal",
    DosingProtocol.KETAMINE_IV: "Ketamine IV infusion",
    DosingProtocol.KETAMINE_IM: "Ketamine IM injection",
    DosingProtocol.KETAMINE_SL: "Ketamine sublingual / oral",
}


class SessionState(enum.Enum):
    PREPARING = "preparing"  # started, no dose yet: baseline vitals
    DOSED = "dosed"  # t0 set
    ENDED = "ended"


_PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$")
_NAME_LIKE = re.compile(r"^[A-Z][a-z]+[ ,][A-Z][a-z]+")


def validate_patient_id(patient_id: str) -> str:
    """Return the cleaned pseudonym or raise ValueError saying what is allowed.

    The recording must not hold real identities: a patient ID is the clinic's pseudonym,
    2-32 letters, digits, '-', '_' or '.', no spaces (so a typed full name is refused).
    """
    pid = patient_id.strip()
    if _NAME_LIKE.match(pid) or not _PSEUDONYM.match(pid):
        raise ValueError(
            f"patient ID {patient_id!r} is not a pseudonym: use the clinic's pseudonymous ID "
            "(2-32 letters, digits, '-', '_' or '.', no spaces), never the patient's name"
        )
    return pid


@dataclass(frozen=True, slots=True)
class SessionInfo:
    patient_id: str
    protocol: DosingProtocol
    clinician: str
    started: float  # UTC epoch seconds, session clock
    t0: float | None = None  # first dose
    ended: float | None = None
    session_id: int | None = None  # assigned by the recording
    end_reason: str | None = None  # "ended", "interrupted", ...
    speed: float = 1.0  # session seconds per real second: > 1 only for simulated or replayed sessions

    @property
    def state(self) -> SessionState:
        if self.ended is not None:
            return SessionState.ENDED
        return SessionState.DOSED if self.t0 is not None else SessionState.PREPARING

    def minutes_from_t0(self, t: float) -> float | None:
        return None if self.t0 is None else (t - self.t0) / 60.0


class Session:
    """The current session, shared by the GUI (which marks the dose) and the drivers (whose scenario
    follows t0). Every change returns a new frozen SessionInfo; reads are lock-free snapshots."""

    def __init__(self, info: SessionInfo) -> None:
        if not info.clinician.strip():
            raise ValueError("clinician name is required")
        self._info = replace(info, patient_id=validate_patient_id(info.patient_id), clinician=info.clinician.strip())
        self._lock = threading.Lock()

    @property
    def info(self) -> SessionInfo:
        return self._info

    @property
    def t0(self) -> float | None:
        return self._info.t0

    def mark_dose(self, t: float) -> SessionInfo:
        """Set t0. Only the first dose sets it; marking again is refused rather than moving t0."""
        with self._lock:
            info = self._info
            if info.ended is not None:
                raise ValueError("the session has ended; start a new session to dose again")
            if info.t0 is not None:
                raise ValueError("t0 is already set by the first dose; later doses do not move it")
            if t < info.started:
                raise ValueError("the dose time is before the session started")
            self._info = replace(info, t0=t)
            return self._info

    def end(self, t: float, reason: str = "ended") -> SessionInfo:
        with self._lock:
            if self._info.ended is None:
                self._info = replace(self._info, ended=t, end_reason=reason)
            return self._info

    def assign_id(self, session_id: int) -> SessionInfo:
        with self._lock:
            self._info = replace(self._info, session_id=session_id)
            return self._info
