"""What the alarm system remembers per workstation, outside any recording: the medical director's
confirmation of the HR limits (clinical.md requirement 17) and the PIN of the responsible-
organization mode (requirement 24).

``monitor`` only defines the interface (``WorkstationAlarmConfig``) and the PIN hashing; the app
keeps it as JSON in the user's config folder (``app.workstation_store``), tests use
``MemoryAlarmConfig``. The PIN is stored as a salted PBKDF2-SHA256 hash, never in clear: it keeps
a nurse from changing latching or priorities by accident, it is not a substitute for user accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, Final, Protocol

from monitor.alarms.model import AlarmSettingError

PIN_MIN_LENGTH: Final = 4
PBKDF2_ITERATIONS: Final = 200_000


class WorkstationAlarmConfig(Protocol):
    def hr_confirmation(self) -> dict[str, Any] | None:
        """Who confirmed the HR limits and when ({"by", "at", "hr_low", "hr_high"}), or None."""
        ...

    def save_hr_confirmation(self, confirmation: dict[str, Any]) -> None: ...

    def pin_record(self) -> dict[str, Any] | None:
        """The stored PIN hash (``hash_pin``'s result), None before the first use."""
        ...

    def save_pin_record(self, record: dict[str, Any]) -> None: ...


def hash_pin(pin: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> dict[str, Any]:
    """A PIN as a salted hash record; refuses a PIN too short to mean anything."""
    if len(pin.strip()) < PIN_MIN_LENGTH:
        raise AlarmSettingError(f"the PIN must have at least {PIN_MIN_LENGTH} characters")
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return {"algorithm": "pbkdf2-sha256", "iterations": iterations, "salt": salt.hex(), "hash": digest.hex()}


def verify_pin(pin: str, record: dict[str, Any]) -> bool:
    """True if ``pin`` matches the stored record (constant-time compare)."""
    try:
        if record["algorithm"] != "pbkdf2-sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), bytes.fromhex(record["salt"]), int(record["iterations"]))
        return hmac.compare_digest(digest.hex(), str(record["hash"]))
    except (KeyError, TypeError, ValueError):
        return False


class MemoryAlarmConfig:
    """A workstation configuration kept in memory (tests, kiosk demos)."""

    def __init__(self, confirmation: dict[str, Any] | None = None) -> None:
        self._confirmation = confirmation
        self._pin: dict[str, Any] | None = None

    def hr_confirmation(self) -> dict[str, Any] | None:
        return None if self._confirmation is None else dict(self._confirmation)

    def save_hr_confirmation(self, confirmation: dict[str, Any]) -> None:
        self._confirmation = dict(confirmation)

    def pin_record(self) -> dict[str, Any] | None:
        return self._pin

    def save_pin_record(self, record: dict[str, Any]) -> None:
        self._pin = dict(record)
