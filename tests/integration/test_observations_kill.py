"""Commit-before-confirm for clinician observations: what the program reported as saved survives a
SIGKILL straight after, with amendments linked to their originals, in the JSON export."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from recordings.database import open_database
from recordings.export import export_session

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.posix]


def test_observations_confirmed_before_a_kill_are_in_the_export(tmp_path):
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "integration" / "observation_child.py"), url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
    )
    confirmed: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        while len(confirmed) < 3:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "child ended"
            what, obs_id = line.split()
            confirmed[what] = obs_id
        proc.kill()  # SIGKILL the moment the amendment was confirmed: no flush, no shutdown
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    db = open_database(url)
    try:
        doc = export_session(db, "latest")
    finally:
        db.close()
    assert doc["session"]["end_reason"] == "interrupted"
    assert doc["session"]["t0"] is not None
    obs = {o["id"]: o for o in doc["observations"]}
    assert confirmed["dose"] in obs and obs[confirmed["dose"]]["data"]["lot"] == "L7"
    moaas = obs[confirmed["moaas"]]
    assert moaas["data"]["score"] == 3  # the original stays visible
    assert moaas["current"] == confirmed["amendment"]
    (fix,) = moaas["amendments"]
    assert fix["data"]["score"] == 4 and fix["author"] == "Bob" and fix["reason"] == "scored the wrong column"
    assert fix["amends"] == confirmed["moaas"]
    kinds = [o["kind"] for o in doc["observations"]]
    assert kinds == ["cadss", "manual_vitals", "dose", "moaas"]
    checkpoints = {c["key"]: c for c in doc["checkpoints"]}
    assert checkpoints["bp_pre"]["state"] == "done" and checkpoints["cadss_pre"]["state"] == "done"
    assert checkpoints["moaas_15"]["state"] == "done"
