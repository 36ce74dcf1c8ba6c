"""Issue 13, finding 10: everything the program creates — database (and its WAL files), config,
crash reports, exports — is 0600 in 0700 folders, whatever umask it was started with."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.posix]


def _created(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*"))


def test_a_session_creates_only_private_files_and_folders(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        SESSION_MONITOR_DEVICES=str(home / "config" / "devices" / "devices.json"),
        SESSION_MONITOR_WORKSTATION=str(home / "config" / "devices" / "workstation.json"),
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "import os, sys; os.umask(0o022); from app.cli import main; sys.exit(main())", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    p = run("--demo", "baseline", "--speed", "600", "--minutes", "0.2")  # the default database, in XDG_DATA_HOME
    assert p.returncode == 0, p.stderr
    out = home / "session.csv"
    p = run("export", "--format", "csv", "-o", str(out))
    assert p.returncode == 0, p.stderr
    created = _created(home)
    assert any(p.name == "sessions.db" for p in created), created
    assert out in created
    wrong = [
        (str(p.relative_to(home)), oct(stat.S_IMODE(p.stat().st_mode)))
        for p in created
        if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)
    ]
    assert not wrong, wrong
