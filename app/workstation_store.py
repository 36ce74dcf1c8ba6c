"""The workstation's alarm configuration (``monitor.alarms.WorkstationAlarmConfig``) as JSON in
the user's config folder: the medical director's confirmation of the HR limits (clinical.md
requirement 17) and the hashed PIN of the responsible-organization mode (requirement 24).
Written atomically (temp file + rename), so a crash mid-save keeps the old file."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from app.config_files import config_path, write_json_atomically

log = logging.getLogger(__name__)

VERSION = 1


def default_path() -> Path:
    return config_path("SESSION_MONITOR_WORKSTATION", "workstation.json")


class JsonWorkstationConfig:
    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    def _load(self) -> dict[str, Any]:
        """The document; a missing file is empty. A damaged one is treated as empty (nothing
        confirmed, no PIN yet): the safe reading, and the next save replaces it."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("cannot read the workstation configuration %s: %s", self.path, exc)
            return {}
        except ValueError as exc:
            log.warning("the workstation configuration %s is damaged (%s): treated as empty", self.path, exc)
            return {}
        return doc if isinstance(doc, dict) else {}

    def _save(self, key: str, value: dict[str, Any]) -> None:
        doc = self._load()
        doc["version"] = VERSION
        doc[key] = value
        write_json_atomically(self.path, doc, "the workstation configuration")

    def _section(self, key: str) -> dict[str, Any] | None:
        value = self._load().get(key)
        return dict(value) if isinstance(value, dict) else None

    def hr_confirmation(self) -> dict[str, Any] | None:
        return self._section("hr_limits_confirmed")

    def save_hr_confirmation(self, confirmation: dict[str, Any]) -> None:
        self._save("hr_limits_confirmed", confirmation)

    def pin_record(self) -> dict[str, Any] | None:
        return self._section("responsible_organization_pin")

    def save_pin_record(self, record: dict[str, Any]) -> None:
        self._save("responsible_organization_pin", record)
