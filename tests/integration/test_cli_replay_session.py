"""``session-monitor --replay-session`` as a user runs it: a real process on a real recording,
exit codes and one-line messages; the source database never gains a session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recordings.database import open_database
from recordings.reader import RecordingReader
from tests.simulated_session import record_scenario

REPO = Path(__file__).resolve().parents[2]


def run(*args, tmpdir: Path | None = None, timeout=120):
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run(
        [sys.executable, "-m", "app", *args], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[str, Path]:
    path = tmp_path_factory.mktemp("clinic") / "clinic.db"
    url = f"sqlite:///{path}"
    record_scenario(url, "baseline", 3.0, patient_id="PT-0042")
    return url, path


def _sessions(url: str) -> list:
    db = open_database(url)
    try:
        return RecordingReader(db).list_sessions()
    finally:
        db.close()


@pytest.mark.slow
def test_replay_runs_headless_and_never_writes_into_the_source(source, tmp_path):
    url, _path = source
    before = _sessions(url)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = run("--replay-session", "latest", "--from-db", url, "--speed", "60", "--minutes", "2", tmpdir=tmp)
    assert p.returncode == 0, p.stderr
    assert _sessions(url) == before  # no new session, the recorded one unchanged
    assert list(tmp.iterdir()) == []  # the throw-away database is gone


@pytest.mark.slow
def test_replay_into_db_keeps_patient_protocol_devices_and_dose(source, tmp_path):
    url, _path = source
    (orig,) = _sessions(url)
    target = f"sqlite:///{tmp_path / 'replay.db'}"
    p = run("--replay-session", str(orig.id), "--from-db", url, "--speed", "60", "--minutes", "2", "--db", target)
    assert p.returncode == 0, p.stderr
    db = open_database(target)
    try:
        reader = RecordingReader(db)
        (rep,) = reader.list_sessions()
        assert (rep.patient_id, rep.protocol, rep.clinician) == (orig.patient_id, orig.protocol, orig.clinician)
        assert orig.t0 is not None and rep.t0 is not None
        assert rep.t0 - rep.started == pytest.approx(orig.t0 - orig.started, abs=1e-3)
        assert rep.speed == 60
        devices = {d.source: d for d in reader.devices(rep.id)}
        assert set(devices) >= {"replay:sim:oximeter", "replay:sim:nibp"}
        assert all(d.label.endswith("(replay)") for d in devices.values())
        assert {r.source for r in reader.readings(rep.id)} <= set(devices)
    finally:
        db.close()


def test_speed_outside_1_to_60_is_refused(source):
    url, _path = source
    before = _sessions(url)
    p = run("--replay-session", "latest", "--from-db", url, "--speed", "100")
    assert p.returncode == 1, p.stderr
    assert p.stderr.strip() == "session-monitor: --speed 100 is outside 1-60: a recorded session replays at 1x-60x"
    p = run("--replay-session", "latest", "--from-db", url, "--speed", "0.5")  # below real time: refused for every mode
    assert p.returncode == 2 and "--speed" in p.stderr and "Traceback" not in p.stderr
    assert _sessions(url) == before


def test_unknown_session_is_named(source):
    url, path = source
    p = run("--replay-session", "42", "--from-db", url, "--speed", "60")
    assert p.returncode == 1
    assert "no session 42" in p.stderr and str(path) in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_missing_or_unreadable_source_database_is_named_and_not_created(tmp_path):
    missing = tmp_path / "nowhere.db"
    p = run("--replay-session", "latest", "--from-db", f"sqlite:///{missing}")
    assert p.returncode == 1 and str(missing) in p.stderr and "Traceback" not in p.stderr
    assert not missing.exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all\n" * 50)
    p = run("--replay-session", "latest", "--from-db", f"sqlite:///{junk}")
    assert p.returncode == 1 and str(junk) in p.stderr and "Traceback" not in p.stderr


def test_replaying_into_the_source_database_is_refused(source):
    url, _path = source
    before = _sessions(url)
    p = run("--replay-session", "latest", "--from-db", url, "--db", url)
    assert p.returncode == 1 and "never adds sessions" in p.stderr
    assert _sessions(url) == before


def test_replay_session_is_exclusive_with_demo_and_from_db_needs_it(source):
    url, _path = source
    p = run("--replay-session", "latest", "--demo", "baseline")
    assert p.returncode == 2 and "not allowed with" in p.stderr
    p = run("--from-db", url)
    assert p.returncode == 1 and "--from-db only applies to --replay-session" in p.stderr


@pytest.mark.slow
def test_the_review_windows_replay_command_runs_the_dashboard(source, tmp_path):
    """The Replay button starts exactly this command (plus nothing): run it briefly, headless."""
    from app.review_cmd import replay_command

    url, _path = source
    before = _sessions(url)
    db = open_database(url)
    try:
        argv, env = replay_command(db, before[0].id, 60)
    finally:
        db.close()
    env = {**env, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp_path)}
    p = subprocess.run([*argv, "--minutes", "1"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    assert _sessions(url) == before and list(tmp_path.iterdir()) == []


def test_replay_command_keeps_a_postgres_password_off_the_command_line():
    from types import SimpleNamespace

    from sqlalchemy.engine import make_url

    from app.review_cmd import replay_command

    db = SimpleNamespace(url=make_url("postgresql+psycopg://clinic:s3cret@db.local:5432/monitor"))
    argv, env = replay_command(db, 7, 10)  # type: ignore[arg-type]
    assert "s3cret" not in " ".join(argv) and env["PGPASSWORD"] == "s3cret"
    assert argv[argv.index("--from-db") + 1] == "postgresql+psycopg://clinic@db.local:5432/monitor"
    assert argv[argv.index("--replay-session") + 1] == "7" and argv[-2:] == ["--speed", "10"]
