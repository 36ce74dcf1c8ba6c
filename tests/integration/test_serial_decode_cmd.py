"""``session-monitor decode`` as the clinic's IT person runs it: a real process, spec frames on stdin
(or a live socket port), one JSON object per value on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devices.sim.protocol_sims import TcpSimulator
from monitor.clock import SessionClock

REPO = Path(__file__).resolve().parents[2]

MLLP = (
    b"\x0bMSH|^~\\&|B40|GE|||20260301101500+0100||ORU^R01|M1|P|2.6\r"
    b"OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.2.1.1|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R\r"
    b"OBX|2|NM|150301^MDC_PRESS_CUFF_SYS^MDC|1.4.1.1|131|266016^MDC_DIM_MMHG^MDC|||||R\r"
    b"OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.1||262688^MDC_DIM_PERCENT^MDC|||||X\r\x1c\r"
)
T_HL7 = 1772356500.0

#: protocol → (stdin bytes written from the spec, expected (channel, value, quality, flags, device_t) lines)
CASES = {
    "cms50-v7": (
        bytes([0x01, 0x88, 0x88, 0xC0, 0x85, 0xC8, 0xE1, 0xE8, 0x81]) * 5  # frame lock: 5 in a row
        + bytes([0x01, 0x89, 0x80, 0xC0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF]) * 3,  # a status shown by 3 frames
        [
            ("pr", 200.0, "OK", [], None),
            ("spo2", 97.0, "OK", [], None),
            ("pr", None, "INVALID", ["PROBE_OFF", "SENSOR_FAULT"], None),
            ("spo2", None, "INVALID", ["PROBE_OFF", "SENSOR_FAULT"], None),
        ],
    ),
    "cms50-live5": (
        bytes([0x85, 0x30, 0x43, 0x48, 0x62]) * 5,
        [("pr", 200.0, "OK", [], None), ("spo2", 98.0, "OK", [], None)],
    ),
    "nonin-2": (
        b"".join(
            bytes([1, s, 0x80, d, (1 + s + 0x80 + d) & 0xFF])
            for s, d in zip([0x83] + [0x82] * 24, [0x01, 0x48, 0x5F, 0x3A] + [0] * 21, strict=True)
        ),
        [("pr", 200.0, "OK", [], None), ("spo2", 95.0, "OK", [], None)],
    ),
    "nonin-7": (
        b"".join(
            bytes([s, 0x12, 0x34, d, (s + 0x12 + 0x34 + d) & 0xFF])
            for s, d in zip([0xA3] + [0xA2] * 24, [0x00, 0x48, 0x60, 0x3A] + [0] * 21, strict=True)
        ),
        [("pr", 72.0, "QUESTIONABLE", ["ARTEFACT"], None), ("spo2", 96.0, "QUESTIONABLE", ["ARTEFACT"], None)],
    ),
    "nonin-8": (
        bytes([0x82, 0x00, 0x48, 0x60]) * 2 + bytes([0x82, 0x00, 0x48, 0x60, 0xC2, 0x03, 0x7F, 0x7F]),
        [
            ("pr", 72.0, "OK", [], None),
            ("spo2", 96.0, "OK", [], None),
            ("pr", None, "INVALID", ["PROBE_OFF"], None),
            ("spo2", None, "INVALID", ["PROBE_OFF"], None),
        ],
    ),
    "masimo-ascii": (
        b"02/22/16 22:47:44 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
        b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
        b"02/22/16 22:47:46 SN=0000056661 SPO2=---% BPM=--- PI=--.--% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000821\r\n",
        [
            ("spo2", 98.0, "OK", [], "T"),
            ("pr", 97.0, "OK", [], "T"),
            ("spo2", None, "INVALID", ["PROBE_OFF", "SENSOR_FAULT"], "T"),
            ("pr", None, "INVALID", ["PROBE_OFF", "SENSOR_FAULT"], "T"),
        ],
    ),
    "accutorr": (
        b">P:097,072,128,094,078,000,000,000,002\r\n>" * 2,
        [
            ("spo2", 97.0, "OK", [], None),
            ("pr", 72.0, "OK", [], None),
            ("nibp_sys", 128.0, "OK", [], None),
            ("nibp_map", 94.0, "OK", [], None),
            ("nibp_dia", 78.0, "OK", [], None),
        ],
    ),
    "hl7-mllp": (
        MLLP,
        [("hr", 72.0, "OK", [], T_HL7), ("nibp_sys", 131.0, "OK", [], T_HL7), ("spo2", None, "INVALID", ["NO_VALUE"], T_HL7)],
    ),
}


def run_decode(*args, stdin=b""):
    env = dict(os.environ, TZ="UTC")
    return subprocess.run(
        [sys.executable, "-m", "app", "decode", *args], cwd=REPO, input=stdin, capture_output=True, env=env, timeout=60
    )


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_decode_prints_what_the_specification_says(protocol):
    data, expected = CASES[protocol]
    p = run_decode("--protocol", protocol, stdin=data)
    assert p.returncode == 0, p.stderr.decode()
    lines = [json.loads(x) for x in p.stdout.decode().splitlines()]
    got = [(d["channel"], d["value"], d["quality"], sorted(d["flags"]), d["device_t"]) for d in lines]
    want = [(c, v, q, sorted(f), got[i][4] if t == "T" else t) for i, (c, v, q, f, t) in enumerate(expected)]
    assert got == want
    assert all(d["unit"] for d in lines)
    assert b"frames decoded" in p.stderr and b"Traceback" not in p.stderr


def test_decode_from_a_live_socket_port():
    clock = SessionClock(speed=1.0)
    with TcpSimulator("nonin-2", clock, "baseline") as sim:
        p = run_decode("--protocol", "nonin-2", "--port", sim.url, "--seconds", "2.5")
    assert p.returncode == 0, p.stderr.decode()
    lines = [json.loads(x) for x in p.stdout.decode().splitlines()]
    channels = {d["channel"] for d in lines if d["value"] is not None}
    assert channels == {"pr", "spo2"}
    assert all(40 <= d["value"] <= 130 for d in lines if d["channel"] == "pr")


def test_decode_unknown_protocol_names_the_known_ones():
    p = run_decode("--protocol", "cms99")
    assert p.returncode == 1 and b"cms50-v7" in p.stderr and b"Traceback" not in p.stderr


def test_decode_talks_to_a_device_that_must_be_asked():
    """A CMS50 V7 streams only after the start command: decode --port sends it (and the keep-alive)."""
    clock = SessionClock(speed=1.0)
    with TcpSimulator("cms50-v7", clock, "baseline") as sim:
        p = run_decode("--protocol", "cms50-v7", "--port", sim.url, "--seconds", "2.5")
    assert p.returncode == 0, p.stderr.decode()
    assert {json.loads(x)["channel"] for x in p.stdout.decode().splitlines()} == {"pr", "spo2"}
