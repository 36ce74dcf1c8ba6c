"""The command line as a user runs it: a real process, real files, exit codes and messages."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args, env_extra=None, drop=(), timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_no_display_gives_one_clear_line_instead_of_a_qt_abort(tmp_path):
    p = run(
        "--demo",
        "baseline",
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
        drop=("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"),
        env_extra={"QT_QPA_PLATFORM": ""},
    )
    assert p.returncode == 2
    assert "QT_QPA_PLATFORM=offscreen" in p.stderr and "xvfb-run" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_unknown_scenario_names_the_known_ones(tmp_path):
    p = run("--demo", "no-such-scenario", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert p.returncode == 1
    assert "no-such-scenario" in p.stderr and "ketamine-typical" in p.stderr
    assert "Traceback" not in p.stderr


def test_missing_replay_record_names_the_path(tmp_path):
    missing = tmp_path / "nothing-here"
    p = run("--replay", str(missing), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert p.returncode == 1
    assert str(missing) in p.stderr and "Traceback" not in p.stderr


def test_corrupt_database_is_named_and_left_untouched(tmp_path):
    bad = tmp_path / "sessions.db"
    bad.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    digest = hashlib.sha256(bad.read_bytes()).hexdigest()
    p = run("--demo", "baseline", "--minutes", "1", "--speed", "600", "--db", f"sqlite:///{bad}")
    assert p.returncode == 1
    assert str(bad) in p.stderr and "Traceback" not in p.stderr
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == digest


def test_unwritable_data_folder_is_named(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    target = blocker / "sessions.db"
    p = run("--demo", "baseline", "--minutes", "1", "--speed", "600", "--db", f"sqlite:///{target}")
    assert p.returncode == 1
    assert str(blocker) in p.stderr and "Traceback" not in p.stderr


def test_speed_out_of_range_refused():
    p = run("--demo", "baseline", "--speed", "5000")
    assert p.returncode == 2 and "1-600" in p.stderr


@pytest.mark.slow
def test_demo_runs_records_screenshots_and_exports(tmp_path):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    shot = tmp_path / "s.png"
    p = run("--demo", "ketamine-typical", "--speed", "600", "--minutes", "45", "--screenshot", str(shot), "--db", db)
    assert p.returncode == 0, p.stderr
    assert shot.stat().st_size > 10_000

    from PySide6.QtGui import QImage

    img = QImage(str(shot))
    assert img.width() >= 800 and img.height() >= 500
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 20, "screenshot looks blank"

    out = run("export", "--db", db, "--session", "latest", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["session"]["patient_id"].startswith("SIM-")
    assert doc["session"]["t0"] is not None
    minutes = (doc["session"]["ended_utc"] - doc["session"]["started_utc"]) / 60
    # at 600x the 100 ms control tick is a session-minute, and a loaded machine adds a few more
    assert 45 <= minutes < 50
    channels = {r["channel"] for r in doc["readings"]}
    assert {"spo2", "pr", "nibp_sys", "nibp_dia", "nibp_map"} <= channels
    assert any(w["channel"] == "pleth" for w in doc["waveforms"])
    assert [e["kind"] for e in doc["events"]].count("dose_given") == 1

    to_file = tmp_path / "export.json"
    assert run("export", "--db", db, "--session", str(doc["session"]["id"]), "--output", str(to_file)).returncode == 0
    assert json.loads(to_file.read_text())["session"]["id"] == doc["session"]["id"]


def test_export_of_a_missing_session_says_so(tmp_path):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    p = run("export", "--db", db, "--session", "42")
    assert p.returncode == 1 and "42" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.slow
def test_replay_of_a_real_record_keeps_its_gaps_as_gaps(tmp_path, shared_data):
    from devices.replay.physionet import wfdb  # imported the way the app imports it

    record = shared_data / "mimic2wdb-s25047" / "s25047-2704-05-04-10-44n"
    raw = wfdb.rdrecord(str(record))
    hr_raw = raw.p_signal[:, raw.sig_name.index("HR")]
    sys_raw = raw.p_signal[:, raw.sig_name.index("NBPSys")]

    db = f"sqlite:///{tmp_path / 'replay.db'}"
    p = run("--replay", str(record), "--speed", "600", "--minutes", str(raw.sig_len + 1), "--db", db)
    assert p.returncode == 0, p.stderr
    doc = json.loads(run("export", "--db", db).stdout)
    assert doc["session"]["patient_id"].startswith("REPLAY-")

    hr = [r for r in doc["readings"] if r["channel"] == "hr"]
    assert len(hr) == raw.sig_len
    t_first = hr[0]["t"]
    for r in hr:
        minute = round((r["t"] - t_first) / 60)
        if hr_raw[minute] == 0:  # MIMIC's "no value"
            assert r["value"] is None and r["quality"] == "INVALID", minute
        else:
            assert r["value"] == pytest.approx(hr_raw[minute]), minute
    assert any(v == 0 for v in hr_raw), "the record has HR gaps to check"
    cuff = [r for r in doc["readings"] if r["channel"] == "nibp_sys"]
    assert len(cuff) == int(np.sum(~np.isnan(sys_raw)))  # one reading per cuff measurement, none in between
