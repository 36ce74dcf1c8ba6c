"""``session-monitor sign``: enrol, sign with the password from stdin, list valid / outdated signatures."""

from __future__ import annotations

import dataclasses
import io

import pytest

from app.cli import main
from monitor.events import EventKind, SessionEvent
from monitor.session import DosingProtocol, SessionInfo
from recordings import signoff
from recordings.database import open_database
from recordings.recorder import Recorder

T_START = 1_800_000_000.0
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _fast_pbkdf2(monkeypatch):
    monkeypatch.setattr(signoff, "DEFAULT_PBKDF2_ITERATIONS", 1_000)


def _record(db_url: str, ended: bool = True) -> int:
    with open_database(db_url) as db:
        rec = Recorder(db, commit_interval_s=0.05, app_version="test")
        rec.start()
        try:
            info = SessionInfo("P-0001", DosingProtocol.SPRAVATO, "Nurse Test", T_START)
            sid = rec.begin_session(info)
            rec.add_event(sid, SessionEvent(EventKind.DOSE_GIVEN, T_START + 300, "user:Nurse Test", {"sets_t0": True}))
            if ended:
                rec.update_session(dataclasses.replace(info, t0=T_START + 300, ended=T_START + 3600, session_id=sid))
        finally:
            rec.stop()
    return sid


def _run(monkeypatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_enrol_sign_and_status(db_url, monkeypatch, capsys):
    sid = _record(db_url)
    enrol = ["sign", "--db", db_url, "--enroll", "--name", "dr.lee", "--full-name", "Dr Ada Lee", "--password-stdin"]
    assert _run(monkeypatch, enrol, PASSWORD + "\n") == 0
    sign = ["sign", "--db", db_url, "--session", "latest", "--name", "dr.lee", "--meaning", "reviewed", "--password-stdin"]
    assert _run(monkeypatch, sign, PASSWORD + "\n") == 0
    out = capsys.readouterr().out
    assert f"Session {sid}: Signed by Dr Ada Lee (dr.lee)" in out and "meaning: reviewed — valid" in out

    assert _run(monkeypatch, ["sign", "--db", db_url, "--session", str(sid), "--status"]) == 0
    assert "valid" in capsys.readouterr().out

    with open_database(db_url) as db:
        rec = Recorder(db, commit_interval_s=0.05)
        rec.start()
        try:
            amendment = {"amends": "x", "reason": "typo"}
            rec.add_event(sid, SessionEvent(EventKind.AMENDMENT, T_START + 900, "user:Nurse Test", amendment))
        finally:
            rec.stop()
    assert _run(monkeypatch, ["sign", "--db", db_url, "--session", str(sid), "--status"]) == 0
    assert "OUTDATED" in capsys.readouterr().out


def test_wrong_password_and_running_session_are_refused(db_url, monkeypatch, capsys):
    sid = _record(db_url)
    enrol = ["sign", "--db", db_url, "--enroll", "--name", "dr.lee", "--full-name", "Dr Ada Lee", "--password-stdin"]
    assert _run(monkeypatch, enrol, PASSWORD + "\n") == 0
    sign = ["sign", "--db", db_url, "--session", str(sid), "--name", "dr.lee", "--password-stdin"]
    assert _run(monkeypatch, sign, "guess\n") == 1
    assert "wrong password" in capsys.readouterr().err
    running = _record(db_url, ended=False)
    sign[sign.index(str(sid))] = str(running)
    assert _run(monkeypatch, sign, PASSWORD + "\n") == 1
    assert "has no end: it is still being recorded, or it was cut short" in capsys.readouterr().err
    assert _run(monkeypatch, [*sign, "--interrupted"], PASSWORD + "\n") == 0  # the signer confirms it was cut short
    assert "meaning: reviewed — valid" in capsys.readouterr().out
    assert _run(monkeypatch, ["sign", "--db", db_url, "--session", "999", "--name", "dr.lee", "--password-stdin"], PASSWORD) == 1
    assert "no session 999" in capsys.readouterr().err
