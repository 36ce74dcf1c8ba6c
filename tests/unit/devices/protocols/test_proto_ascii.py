"""Masimo ASCII 1 and Accutorr lines written by hand from protocols.md §2.3 and §3.1."""

import datetime as dt
import math

from devices.protocols.accutorr import AccutorrDecoder
from devices.protocols.masimo import MasimoAsciiDecoder
from monitor.readings import Flag, Quality

RAD8 = b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"


def test_masimo_rad8_line_from_the_manual():
    d = MasimoAsciiDecoder()
    ms = d.feed(RAD8)
    t = dt.datetime(2016, 2, 22, 22, 47, 45).timestamp()
    assert [(m.channel, m.value, m.quality, m.device_t) for m in ms] == [
        ("spo2", 98.0, Quality.OK, t),
        ("pr", 97.0, Quality.OK, t),
    ]


def test_masimo_dashes_are_no_value_and_exceptions_set_quality():
    d = MasimoAsciiDecoder()
    ms = d.feed(b"02/22/16 22:47:46 SN=0000056661 SPO2=---% BPM=--- PI=--.--% ALARM=0000 EXC=000820\r\n")
    assert all(m.quality is Quality.INVALID and math.isnan(m.value) and Flag.PROBE_OFF in m.flags for m in ms)
    ms = d.feed(b"02/22/16 22:47:47 SN=1 SPO2=091% BPM=110 PI=00.20% ALARM=0000 EXC=000004\r\n")
    assert {(m.quality, m.flags) for m in ms} == {(Quality.QUESTIONABLE, Flag.LOW_PERFUSION)}
    ms = d.feed(b"02/22/16 22:47:48 SN=1 SPO2=091% BPM=110 PI=00.20% ALARM=0000 EXC=000008\r\n")
    assert {(m.quality, m.flags) for m in ms} == {(Quality.QUESTIONABLE, Flag.SEARCHING)}
    ms = d.feed(b"02/22/16 22:47:49 SN=1 SPO2=091% BPM=110 PI=00.20% ALARM=0000 EXC=000010\r\n")
    assert {(m.quality, m.flags) for m in ms} == {(Quality.QUESTIONABLE, Flag.ARTEFACT)}


def test_masimo_radical5_short_line_and_garbage():
    d = MasimoAsciiDecoder()
    ms = d.feed(b"\x00\xffnoise\r\n03/01/16 10:00:00 SPO2=100% BPM=140 PI=05.00% ALARM=000 EXC=000\n")
    assert [(m.channel, m.value) for m in ms] == [("spo2", 100.0), ("pr", 140.0)]
    assert d.stats.rejected == 1 and d.stats.frames == 1


def test_accutorr_patient_data_line():
    d = AccutorrDecoder()
    ms = d.feed(b"ACCUTORR PC Interface is ready\r\n>P:097,072,128,094,078,000,000,000,002\r\n>")
    got = {m.channel: (m.value, m.quality) for m in ms}
    assert got == {
        "spo2": (97.0, Quality.OK), "pr": (72.0, Quality.OK),
        "nibp_sys": (128.0, Quality.OK), "nibp_map": (94.0, Quality.OK), "nibp_dia": (78.0, Quality.OK),
    }  # fmt: skip
    assert d.start_commands() == b"P" and d.keepalive() == b"P"


def test_accutorr_repeated_cuff_result_is_not_a_new_reading():
    d = AccutorrDecoder()
    line = b"P:--,--,128,094,078,000,000,000,002\r\n"
    assert [m.channel for m in d.feed(line)] == ["nibp_sys", "nibp_map", "nibp_dia"]  # unused SaO2: nothing
    assert d.feed(line) == []
    assert len(d.feed(b"P:--,--,128,094,078,000,000,000,000\r\n")) == 3  # same values, new cycle (minutes reset)
    ms = d.feed(b"P:--,--,--,--,--,000,000,000,--\r\n")
    assert all(m.quality is Quality.INVALID and Flag.NO_VALUE in m.flags for m in ms) and len(ms) == 3


def test_accutorr_status_bits():
    d = AccutorrDecoder()
    ms = d.feed(b"P:--,--,--,--,--,002,000,000,--\r\n")  # status 0 bit 1: sensor off
    assert [(m.channel, m.quality) for m in ms] == [("spo2", Quality.INVALID), ("pr", Quality.INVALID)]
    assert Flag.PROBE_OFF in ms[0].flags
    ms = d.feed(b"P:095,080,140,100,80,000,000,002,000\r\n")  # status 2 bit 1: motion
    assert {m.channel: m.quality for m in ms}["nibp_sys"] is Quality.QUESTIONABLE
    assert Flag.ARTEFACT in ms[-1].flags
    d.feed(b"P:1,2,3\r\nP:abc,1,1,1,1,1,1,1,1\r\n")
    assert d.stats.rejected == 2
