"""Masimo ASCII 1 and Accutorr lines written by hand from protocols.md §2.3 and §3.1. Neither has a
checksum: values count from the second good line in a row (the frame lock), so each test first
sends one lead line, as the device does every second."""

import datetime as dt
import math

from devices.protocols.accutorr import AccutorrDecoder
from devices.protocols.masimo import MasimoAsciiDecoder
from monitor.readings import Flag, Quality

RAD8 = b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
RAD8_LEAD = b"02/22/16 22:47:44 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
ACCUTORR_LEAD = b"P:097,072,128,094,078,000,000,000,002\r\n>"


def masimo():
    d = MasimoAsciiDecoder()
    assert d.feed(RAD8_LEAD) == [] and d.stats.locked is False
    return d


def accutorr():
    d = AccutorrDecoder()
    assert d.feed(ACCUTORR_LEAD) == [] and d.stats.locked is False
    return d


def test_masimo_rad8_line_from_the_manual():
    d = masimo()
    ms = d.feed(RAD8)
    t = dt.datetime(2016, 2, 22, 22, 47, 45).timestamp()
    assert [(m.channel, m.value, m.quality, m.device_t) for m in ms] == [
        ("spo2", 98.0, Quality.OK, t),
        ("pr", 97.0, Quality.OK, t),
    ]


def test_masimo_dashes_are_no_value_and_exceptions_set_quality():
    d = masimo()
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
    r5 = b"03/01/16 10:00:00 SPO2=100% BPM=140 PI=05.00% ALARM=000 EXC=000\n"
    ms = d.feed(b"\x00\xffnoise\r\n" + r5 + r5)
    assert [(m.channel, m.value) for m in ms] == [("spo2", 100.0), ("pr", 140.0)]
    assert d.stats.rejected == 1 and d.stats.frames == 2 and d.stats.locked


def test_masimo_damaged_line_breaks_the_lock():
    d = masimo()
    assert len(d.feed(RAD8)) == 2
    for bad in (
        RAD8.replace(b"SPO2=098%", b"SPO2=0;8%"),  # a digit bit-flipped out of the digits
        RAD8.replace(b"BPM=097", b"BPM=0977"),
        RAD8.replace(b"EXC=000800", b"EXC=0008G0"),
        RAD8.replace(b"02/22/16", b"02/32/16"),
        RAD8.replace(b"SN=", b"S\xceN="),
    ):
        assert d.feed(bad) == [] and d.stats.locked is False
        assert d.feed(RAD8) == []  # one good line: still searching
        assert len(d.feed(RAD8)) == 2
    assert d.stats.lock_losses == 5


def test_accutorr_patient_data_line():
    d = AccutorrDecoder()
    assert d.feed(b"ACCUTORR PC Interface is ready\r\n" + ACCUTORR_LEAD) == []
    ms = d.feed(b">P:097,072,128,094,078,000,000,000,002\r\n>")
    got = {m.channel: (m.value, m.quality) for m in ms}
    assert got == {
        "spo2": (97.0, Quality.OK), "pr": (72.0, Quality.OK),
        "nibp_sys": (128.0, Quality.OK), "nibp_map": (94.0, Quality.OK), "nibp_dia": (78.0, Quality.OK),
    }  # fmt: skip
    assert d.start_commands() == b"P" and d.keepalive() == b"P"


def test_accutorr_repeated_cuff_result_is_not_a_new_reading():
    d = AccutorrDecoder()
    line = b"P:--,--,128,094,078,000,000,000,002\r\n"
    assert d.feed(line) == []  # searching; a new result waits for the next answer to repeat it
    assert [m.channel for m in d.feed(line)] == ["nibp_sys", "nibp_map", "nibp_dia"]  # unused SaO2: nothing
    assert d.feed(line) == []
    new_cycle = b"P:--,--,128,094,078,000,000,000,000\r\n"  # same values, minutes reset
    assert d.feed(new_cycle) == [] and len(d.feed(new_cycle)) == 3
    cleared = b"P:--,--,--,--,--,000,000,000,--\r\n"
    assert d.feed(cleared) == []
    ms = d.feed(cleared)
    assert all(m.quality is Quality.INVALID and Flag.NO_VALUE in m.flags for m in ms) and len(ms) == 3


def test_accutorr_cuff_result_one_answer_alone_shows_is_not_passed_on():
    """ "DBP 780" from one bit-flipped answer: the monitor repeats its result in every answer."""
    d = accutorr()
    d.feed(ACCUTORR_LEAD)
    ms = d.feed(b"P:097,072,128,094,778,000,000,000,002\r\n>")  # one damaged answer
    assert {m.channel for m in ms} == {"spo2", "pr"}
    assert {m.channel for m in d.feed(ACCUTORR_LEAD)} == {"spo2", "pr"}  # back to the old result: nothing new


def test_accutorr_status_bits():
    d = accutorr()
    ms = d.feed(b"P:--,--,--,--,--,002,000,000,--\r\n")  # status 0 bit 1: sensor off
    assert [(m.channel, m.quality) for m in ms] == [("spo2", Quality.INVALID), ("pr", Quality.INVALID)]
    assert Flag.PROBE_OFF in ms[0].flags
    d.feed(b"P:095,080,140,100,080,000,000,002,000\r\n")  # status 2 bit 1: motion
    ms = d.feed(b"P:095,080,140,100,080,000,000,002,000\r\n")
    assert {m.channel: m.quality for m in ms}["nibp_sys"] is Quality.QUESTIONABLE
    assert Flag.ARTEFACT in ms[-1].flags
    d.feed(b"P:1,2,3\r\nP:abc,1,1,1,1,1,1,1,1\r\nP:101,1,1,1,1,1,1,1,1\r\nP:1,1,1,1,1,256,1,1,1\r\nP: 97,1,1,1,1,1,1,1,1\r\n")
    assert d.stats.rejected == 5 and d.stats.locked is False
