"""Issue 13, finding 2: a database that cannot be written at start is refused before monitoring —
one line, non-zero exit, the process ends — never a dashboard with a silent "No session" whose
``--minutes`` never ends. As root ``chmod`` does not stop a write, so the file is made immutable
(``chattr +i``), which stops root too."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import StorageError
from recordings.database import open_database

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.posix]


@contextlib.contextmanager
def immutable(path: Path):
    """``path`` made immutable for the block (skips where chattr is missing or not permitted)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make a file immutable here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def _recorded_database(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.db"
    open_database(f"sqlite:///{path}").close()  # a valid, migrated recording
    return path


def test_open_database_refuses_an_immutable_file_and_names_it(tmp_path):
    path = _recorded_database(tmp_path)
    with immutable(path), pytest.raises(StorageError, match=r"Database .*sessions\.db is not writable") as err:
        open_database(f"sqlite:///{path}")
    assert "--db sqlite:///PATH" in str(err.value)


@pytest.mark.parametrize("minutes", [None, "0.2"])
def test_demo_on_a_read_only_database_refuses_to_monitor_and_ends(tmp_path, minutes):
    path = _recorded_database(tmp_path)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    args = [sys.executable, "-m", "app", "--demo", "baseline", "--speed", "600", "--db", f"sqlite:///{path}"]
    if minutes is not None:
        args += ["--minutes", minutes]
    with immutable(path):
        p = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("session-monitor:")]
    assert len(lines) == 1, p.stderr
    assert str(path) in lines[0] and "not writable" in lines[0]


def test_minutes_ends_the_dashboard_even_without_a_session(tmp_path):
    """``--minutes`` counts from the start of the program when no session runs."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    args = [sys.executable, "-m", "app", "--minutes", "0.05", "--db", f"sqlite:///{tmp_path / 's.db'}"]
    p = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
