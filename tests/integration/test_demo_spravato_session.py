"""Done-when of issue 6: a full Spravato session runs in the demo from the pre-dose checklist to
discharge, and the export holds every dose, score and checkpoint (the real program, accelerated)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recordings.database import open_database
from recordings.export import export_session

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow]


def test_demo_nurse_runs_a_spravato_session_to_discharge(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--demo",
            "baseline",
            "--demo-nurse",
            "--protocol",
            "spravato",
            "--speed",
            "300",
            "--minutes",
            "124",
            "--db",
            url,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    db = open_database(url)
    try:
        doc = export_session(db, "latest")
    finally:
        db.close()
    assert doc["session"]["end_reason"] == "discharged"
    t0, ended = doc["session"]["t0_utc"], doc["session"]["ended_utc"]
    assert 120 <= (ended - t0) / 60 < 124
    kinds = [o["kind"] for o in doc["observations"]]
    assert kinds[0] == "predose_checklist" and kinds[-1] == "discharge"
    assert kinds.count("dose") == 1 and kinds.count("moaas") == 6 and kinds.count("cadss") == 3
    assert all(o["author"] for o in doc["observations"])
    checkpoints = {c["key"]: c for c in doc["checkpoints"]}
    assert {
        "bp_pre",
        "bp_40",
        "bp_completion",
        "moaas_15",
        "moaas_120",
        "cadss_pre",
        "cadss_40",
        "cadss_90",
    } <= checkpoints.keys()
    assert all(c["state"] == "done" for c in checkpoints.values()), checkpoints
    for key, minute in (("moaas_15", 15), ("moaas_60", 60), ("cadss_40", 40)):  # answered at its time
        done = (checkpoints[key]["done_t"] - t0) / 60
        assert minute <= done < minute + 5, (key, done)
