"""``session-monitor decode --protocol ble-*`` and ``--demo --demo-ble`` as a clinic's IT person runs it: hex lines in, one
JSON object per value out; a special SFLOAT prints as invalid with value null, never a number."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def run_decode(protocol: str, lines: str) -> tuple[list[dict], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "app", "decode", "--protocol", protocol],
        input=lines.encode(),
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.decode().splitlines()], proc.stderr.decode()


def test_decode_blood_pressure_with_special_sfloat_and_a_bad_line():
    lines = "\n".join(
        [
            "# cuff 120/80/93 mmHg, 2020-12-10 13:34:00, pulse 72, user 1, body movement",
            "1E 78 00 50 00 5D 00 E4 07 0C 0A 0D 22 00 48 00 01 01 00",
            "00 FF 07 50 00 5D 00",  # systolic NaN
            "01 FE 07 6B F0 7C F0",  # kPa, systolic +INF
            "00 78 00 50",  # truncated: rejected
        ]
    )
    out, err = run_decode("ble-bpm", lines + "\n")
    assert out[:4] == [
        {
            "channel": "nibp_sys",
            "value": 120.0,
            "unit": "mm[Hg]",
            "quality": "QUESTIONABLE",
            "flags": ["ARTEFACT"],
            "device_t": 1607607240.0,
        },
        {
            "channel": "nibp_dia",
            "value": 80.0,
            "unit": "mm[Hg]",
            "quality": "QUESTIONABLE",
            "flags": ["ARTEFACT"],
            "device_t": 1607607240.0,
        },
        {
            "channel": "nibp_map",
            "value": 93.0,
            "unit": "mm[Hg]",
            "quality": "QUESTIONABLE",
            "flags": ["ARTEFACT"],
            "device_t": 1607607240.0,
        },
        {
            "channel": "pr",
            "value": 72.0,
            "unit": "/min",
            "quality": "QUESTIONABLE",
            "flags": ["ARTEFACT"],
            "device_t": 1607607240.0,
        },
    ]
    assert out[4] == {
        "channel": "nibp_sys",
        "value": None,
        "unit": "mm[Hg]",
        "quality": "INVALID",
        "flags": ["NO_VALUE"],
        "device_t": None,
    }
    assert out[5]["value"] == 80.0
    assert out[7] == {
        "channel": "nibp_sys",
        "value": None,
        "unit": "mm[Hg]",
        "quality": "INVALID",
        "flags": ["NO_VALUE"],
        "device_t": None,
    }
    assert abs(out[8]["value"] - 10.7 * 760 / 101.325) < 1e-6
    assert len(out) == 10
    assert "3 frames decoded, 1 rejected" in err


def test_decode_every_ble_characteristic():
    cases = {
        "ble-hrs": ("16 48 00 04", [("hr", 72.0, "OK")]),
        "ble-icp": ("00 3C 00 FF 07 FF 07", [("cuff", 60.0, "OK")]),
        "ble-plx-cont": ("08 62 00 48 00 00 80 00", [("spo2", None, "INVALID"), ("pr", None, "INVALID")]),
        "ble-plx-spot": ("01 61 00 4A 00 E4 07 0C 0A 0D 22 00", [("spo2", 97.0, "OK"), ("pr", 74.0, "OK")]),
    }
    for protocol, (line, expected) in cases.items():
        out, _ = run_decode(protocol, line + "\n")
        assert [(o["channel"], o["value"], o["quality"]) for o in out] == expected, protocol


def test_demo_ble_adds_three_simulated_bluetooth_devices_to_the_recording(tmp_path):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONWARNINGS": "error"}
    demo = subprocess.run(
        [sys.executable, "-m", "app", "--demo", "baseline", "--demo-ble", "--speed", "60", "--minutes", "1.5", "--db", db],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    export = subprocess.run(
        [sys.executable, "-m", "app", "export", "--db", db], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    doc = json.loads(export.stdout)
    ble = {d["source"] for d in doc["devices"] if d["source"].startswith("ble:")}
    assert len(ble) == 3
    channels = {(r["source"], r["channel"]) for r in doc["readings"] if r["source"] in ble}
    assert {c for _, c in channels} >= {"hr", "spo2", "pr", "cuff"}


def test_demo_ble_needs_demo():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    p = subprocess.run([sys.executable, "-m", "app", "--demo-ble"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "--demo-ble needs --demo" in p.stderr
