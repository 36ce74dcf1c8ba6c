"""The workstation's small JSON files (remembered devices, alarm configuration): where they live,
and how they are written — atomically (temp file, fsync, rename), so a crash mid-save keeps the
previous file whole."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

from monitor.errors import ConfigError


def config_path(env_var: str, filename: str) -> Path:
    """``$env_var`` if set (tests, kiosk set-ups), else ``filename`` in the user's config folder."""
    override = os.environ.get(env_var)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("session-monitor")) / filename


def write_json_atomically(path: Path, doc: dict[str, Any], what: str) -> None:
    """Replace ``path`` with ``doc``; a ConfigError naming ``what`` and the file if that fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(f"cannot save {what} to {path}: {exc.strerror or exc}; check the disk and permissions") from None
