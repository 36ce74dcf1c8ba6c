"""Nonin formats 2, 7 and 8 against frames written by hand from protocols.md §2.2."""

import math

from devices.protocols.nonin import NONIN8_LOCK, PACKET_LOCK, Nonin2Decoder, Nonin7Decoder, Nonin8Decoder, status_quality
from devices.sim.protocol_sims import nonin2_frame, nonin_packet
from monitor.readings import Flag, Quality


def frame2(status, pleth, data):
    return bytes([0x01, status, pleth, data, (0x01 + status + pleth + data) & 0xFF])


def packet2(hr, spo2, status=0x82, pleth=0x80):
    data = [(hr >> 7) & 3, hr & 0x7F, spo2, 0x3A] + [0] * 21
    return b"".join(frame2(status | (1 if k == 0 else 0), pleth, data[k]) for k in range(25))


def test_frame_layout_and_checksum_by_hand():
    # 01 83 80 00 CHK: STATUS = 0x80 | green perfusion | SYNC; CHK = 01+83+80+00 = 0x104 -> 0x04
    assert frame2(0x83, 0x80, 0x00) == bytes([0x01, 0x83, 0x80, 0x00, 0x04])
    assert nonin2_frame(0x83, 0x80, 0x00) == bytes([0x01, 0x83, 0x80, 0x00, 0x04])


def test_format2_packet_hr_spo2_and_pleth():
    d = Nonin2Decoder()
    ms = d.feed(packet2(72, 97))
    assert [(m.channel, m.value, m.quality) for m in ms] == [("pr", 72.0, Quality.OK), ("spo2", 97.0, Quality.OK)]
    [chunk] = d.take_waveform()
    # the pleth counts from the frame that completes the lock: the first PACKET_LOCK - 1 frames are not kept
    assert chunk.fs == 75.0 and len(chunk.samples) == 25 - (PACKET_LOCK - 1) and chunk.samples[0] == 0x80 / 255
    assert d.stats.frames == 25


def test_format2_nine_bit_heart_rate():
    d = Nonin2Decoder()
    assert d.feed(packet2(200, 95))[0].value == 200.0  # MSB frame carries bit 7 (0b01), LSB 0x48
    assert packet2(200, 95)[3] == 0x01 and packet2(200, 95)[8] == 0x48


def test_format2_missing_values_are_invalid():
    d = Nonin2Decoder()
    ms = d.feed(packet2(511, 127))
    assert all(m.quality is Quality.INVALID and Flag.NO_VALUE in m.flags and math.isnan(m.value) for m in ms)


def test_status_bits():
    assert status_quality(0x82) == (Quality.OK, Flag.NONE)  # green only: good (pitfall 4)
    assert status_quality(0x84) == (Quality.QUESTIONABLE, Flag.LOW_PERFUSION)  # red
    assert status_quality(0x86) == (Quality.QUESTIONABLE, Flag.LOW_PERFUSION)  # yellow
    assert status_quality(0xC0)[0] is Quality.INVALID and Flag.PROBE_OFF in status_quality(0xC0)[1]
    assert status_quality(0xA2) == (Quality.QUESTIONABLE, Flag.ARTEFACT)
    assert status_quality(0x92) == (Quality.QUESTIONABLE, Flag.SEARCHING)
    assert status_quality(0x8A)[0] is Quality.INVALID


def test_format2_sensor_disconnect_gives_probe_off_and_pleth_gap():
    d = Nonin2Decoder()
    ms = d.feed(packet2(511, 127, status=0xC0))
    assert all(m.quality is Quality.INVALID and Flag.PROBE_OFF in m.flags for m in ms)
    assert all(math.isnan(x) for x in d.take_waveform()[0].samples)


def test_format2_bad_checksum_is_counted_and_decoder_resyncs():
    good = packet2(80, 96)
    bad = bytearray(packet2(72, 97))
    bad[4] ^= 0xFF  # checksum of frame 0
    d = Nonin2Decoder()
    ms = d.feed(good + bytes(bad) + good)
    assert [m.value for m in ms if m.channel == "pr"] == [80.0]  # the broken packet is dropped; the gate holds the repeat
    assert d.stats.rejected == 1
    d2 = Nonin2Decoder()
    d2.feed(b"\x00\xff\x01\x13garbage" + good)
    assert d2.stats.frames == 25 and d2.stats.skipped_bytes == 11


def test_format7_sixteen_bit_pleth_and_checksum():
    # STATUS 0x83 (SYNC), pleth 0x1234, data 0: CHK = 83+12+34+00 = 0xC9
    f0 = bytes([0x83, 0x12, 0x34, 0x00, 0xC9])
    rest = nonin_packet(7, 72, 97, 0x82, [0x1234] * 25)[5:]
    d = Nonin7Decoder()
    ms = d.feed(f0[:3] + f0[3:] + rest)
    assert nonin_packet(7, 72, 97, 0x82, [0x1234] * 25)[:5] == f0
    assert [(m.channel, m.value) for m in ms] == [("pr", 72.0), ("spo2", 97.0)]
    assert d.take_waveform()[0].samples[0] == 0x1234 / 65535


def test_format8_record():
    # status 0x82, HR 200 -> MSB 0x01, LSB 0x48, SpO2 95; no checksum: values after NONIN8_LOCK records
    d = Nonin8Decoder()
    record = bytes([0x82, 0x01, 0x48, 0x5F])
    assert d.feed(record * (NONIN8_LOCK - 1)) == [] and d.stats.locked is False
    ms = d.feed(record)
    assert [(m.channel, m.value) for m in ms] == [("pr", 200.0), ("spo2", 95.0)] and d.stats.locked
    ms = d.feed(bytes([0xC2, 0x03, 0x7F, 0x7F]))  # sensor off, HR 511, SpO2 127
    assert all(m.quality is Quality.INVALID for m in ms) and len(ms) == 2
    assert d.feed(bytes([0x82, 0x01, 0x82, 0x01, 0x48, 0x5F])) == []  # cut record: searching again
    assert d.stats.rejected == 1 and d.stats.locked is False and d.stats.lock_losses == 1


def test_format8_fields_out_of_range_break_the_lock():
    d = Nonin8Decoder()
    d.feed(bytes([0x82, 0x00, 0x48, 0x60]) * NONIN8_LOCK)
    assert d.feed(bytes([0x82, 0x04, 0x48, 0x60])) == []  # HR MSB bit 2: HR has only 9 bits
    assert d.feed(bytes([0x82, 0x00, 0x48, 0x65])) == []  # SpO2 101
    assert d.stats.rejected >= 2 and d.stats.locked is False
