"""Issue 13, finding 8: every bad input gives one line naming the file or field and what to do, and
a non-zero exit before monitoring — never a Python traceback; and a damaged remembered-devices
file never stops the monitor from starting (it is moved aside, the start goes on, a warning says so).

Each case runs the real program as a subprocess. The WFDB records are real PhysioNet files
(Challenge 2015 record a103l) with the header or the signal file damaged the way a bad download or
a hand edit damages them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
A103L = REPO.parent / "shared" / "data" / "challenge2015-a103l"
pytestmark = [pytest.mark.slow]


def _wfdb(tmp: Path, name: str, edit: Callable[[list[str]], list[str]], data_bytes: int | None = None) -> list[str]:
    """A copy of a103l named ``name``, its header lines passed through ``edit``, its .mat cut to ``data_bytes``."""
    if not A103L.is_dir():
        pytest.skip(f"shared data not found at {A103L}")
    data = (A103L / "a103l.mat").read_bytes()
    (tmp / f"{name}.mat").write_bytes(data if data_bytes is None else data[:data_bytes])
    lines = [ln.replace("a103l", name) for ln in (A103L / "a103l.hea").read_text().splitlines()]
    (tmp / f"{name}.hea").write_text("\n".join(edit(lines)))
    return ["--replay", str(tmp / name)]


def _wrong_signal_count(tmp: Path) -> list[str]:
    return _wfdb(tmp, "count", lambda ls: [ls[0].replace(" 3 ", " 4 ", 1), *ls[1:]])


def _unknown_format(tmp: Path) -> list[str]:
    return _wfdb(tmp, "fmt", lambda ls: [ls[0], *(ln.replace("16+24", "999", 1) for ln in ls[1:])])


def _header_cut_short(tmp: Path) -> list[str]:
    return _wfdb(tmp, "cut", lambda ls: ["\n".join(ls)[: len("\n".join(ls[:3])) + 20]])


def _signal_file_cut_short(tmp: Path) -> list[str]:
    return _wfdb(tmp, "short", lambda ls: ls, data_bytes=20_000)


def _non_utf8_scenario(tmp: Path) -> list[str]:
    path = tmp / "latin1.toml"
    path.write_bytes('name = "Grüße"\n'.encode("latin-1"))
    return ["--demo", str(path)]


def _name_as_patient_id(tmp: Path) -> list[str]:
    return ["--demo", "baseline", "--patient", "Jane Doe"]


CASES = {  # case -> (arguments, what the one line must name)
    "patient ID is a name": (_name_as_patient_id, "--patient"),
    "scenario not UTF-8": (_non_utf8_scenario, "latin1.toml"),
    "WFDB wrong signal count": (_wrong_signal_count, "count.hea"),
    "WFDB unknown format": (_unknown_format, "999"),
    "WFDB header cut short": (_header_cut_short, "cut.hea"),
    "WFDB signal file cut short": (_signal_file_cut_short, "short.mat"),
}


def _run(tmp_path: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **env)
    cmd = [sys.executable, "-m", "app", *args, "--speed", "600", "--minutes", "0.2", "--db", f"sqlite:///{tmp_path / 's.db'}"]
    return subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path, case):
    make, named = CASES[case]
    p = _run(tmp_path, make(tmp_path))
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode not in (0, 70), p.stderr  # 70 = internal error
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("session-monitor:")]
    assert len(lines) == 1, p.stderr
    assert named in lines[0], lines[0]
    db = tmp_path / "s.db"
    if db.exists():  # refused before monitoring: no session was started
        con = sqlite3.connect(db)
        try:
            assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
        finally:
            con.close()


def test_binary_device_list_is_moved_aside_and_the_monitor_starts(tmp_path):
    devices = tmp_path / "devices.json"
    devices.write_bytes(bytes(range(256)) * 4)
    p = _run(tmp_path, ["--demo", "baseline"], SESSION_MONITOR_DEVICES=str(devices))
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == 0, p.stderr
    moved = list(tmp_path.glob("devices.json.damaged-*"))
    assert not devices.exists() and len(moved) == 1
    assert moved[0].read_bytes() == bytes(range(256)) * 4  # kept, never deleted
    assert str(devices) in p.stderr and "moved" in p.stderr
    assert (tmp_path / "s.db").exists()
