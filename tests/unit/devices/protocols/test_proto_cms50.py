"""CMS50 decoders against frames written by hand from protocols.md §2.1. Neither protocol has a
checksum, so a frame counts only after LOCK_FRAMES good frames in a row (the frame lock): the
tests send each hand-written frame that many times, as the device repeats it 60 times a second."""

import math

from devices.protocols.cms50 import LOCK_FRAMES, STEADY_FRAMES, Cms50Live5Decoder, Cms50V7Decoder, v7_control
from devices.sim.protocol_sims import cms50_live5_frame, cms50_v7_realtime
from monitor.readings import Flag, Quality

N = LOCK_FRAMES


def values(ms):
    return [(m.channel, None if math.isnan(m.value) else m.value, m.quality, m.flags) for m in ms]


# ---- V7.0 --------------------------------------------------------------------------------------

# type 01, high-byte 0x80 (no MSBs), status: signal 8 | pleth 0x40 | bar 5, PI invalid bit clear |
# PR 72 | SpO2 97 | PI 360 = 0x0168 -> low 0x68, high 0x01
V7_NORMAL = bytes([0x01, 0x80, 0x88, 0xC0, 0x85, 0xC8, 0xE1, 0xE8, 0x81])
# PR 200 = 0xC8: its bit 7 travels in high-byte bit 3 (byte 5 is the 4th payload byte): 0x80 | 0x08
V7_PR_200 = bytes([0x01, 0x88, 0x88, 0xC0, 0x85, 0xC8, 0xE1, 0xE8, 0x81])
# PR 0xFF (invalid): MSB in high-byte bit 3, byte 5 = 0xFF; SpO2 0x7F (invalid)
V7_NO_VALUE = bytes([0x01, 0x88, 0x88, 0xC0, 0x85, 0xFF, 0xFF, 0xFF, 0xFF])
# probe error: status byte 2 = 0x80 | ... -> bit 7 in high-byte bit 0; pleth 64
V7_PROBE_ERROR = bytes([0x01, 0x89, 0x80, 0xC0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF])
# searching pulse: byte 3 bit 7 -> high-byte bit 1
V7_SEARCHING = bytes([0x01, 0x82, 0x88, 0xC0, 0x85, 0xC8, 0xE1, 0xE8, 0x81])


def test_v7_realtime_packet_decodes_pr_spo2_and_pleth():
    d = Cms50V7Decoder()
    assert values(d.feed(V7_NORMAL * N)) == [("pr", 72.0, Quality.OK, Flag.NONE), ("spo2", 97.0, Quality.OK, Flag.NONE)]
    [chunk] = d.take_waveform()
    assert chunk.channel == "pleth" and chunk.fs == 60.0 and chunk.samples == [0x40 / 127]  # the locked frame
    assert d.stats.frames == N and d.stats.rejected == 0 and d.stats.locked


def test_v7_pulse_rate_above_127_uses_the_high_byte():
    d = Cms50V7Decoder()
    assert values(d.feed(V7_PR_200 * N))[0] == ("pr", 200.0, Quality.OK, Flag.NONE)


def test_v7_no_value_markers_are_invalid_never_zero():
    d = Cms50V7Decoder()
    ms = d.feed(V7_NO_VALUE * N)
    assert [(m.channel, m.quality) for m in ms] == [("pr", Quality.INVALID), ("spo2", Quality.INVALID)]
    assert all(math.isnan(m.value) and Flag.NO_VALUE in m.flags for m in ms)


def test_v7_probe_error_is_invalid_probe_off_with_a_pleth_gap():
    d = Cms50V7Decoder()
    ms = d.feed(V7_PROBE_ERROR * N)
    assert all(m.quality is Quality.INVALID and Flag.PROBE_OFF in m.flags for m in ms)
    assert math.isnan(d.take_waveform()[0].samples[0])


def test_v7_searching_is_questionable():
    d = Cms50V7Decoder()
    assert {(m.quality, m.flags) for m in d.feed(V7_SEARCHING * N)} == {(Quality.QUESTIONABLE, Flag.SEARCHING)}


def test_v7_numerics_once_a_second_but_status_changes_at_once():
    d = Cms50V7Decoder()
    ms = d.feed(V7_NORMAL * 120)
    assert len(ms) == 4  # 2 channels x 2 seconds
    assert d.feed(V7_PROBE_ERROR * (STEADY_FRAMES - 1)) == []  # one or two frames could be damage
    ms = d.feed(V7_PROBE_ERROR)
    assert len(ms) == 2 and ms[0].quality is Quality.INVALID


def test_v7_other_packet_types_are_skipped_whole():
    device_id = bytes([0x04, 0x80]) + bytes([0xC3, 0xCD, 0xD3, 0xB5, 0xB0, 0xC4, 0xAB])  # "CMS50D+"
    d = Cms50V7Decoder()
    assert values(d.feed(device_id + V7_NORMAL * N))[0][:2] == ("pr", 72.0)
    assert d.stats.frames == N + 1 and d.stats.skipped_bytes == 0


def test_v7_truncated_packet_is_counted_and_the_next_one_decodes():
    d = Cms50V7Decoder()
    ms = d.feed(V7_NORMAL[:5] + V7_PR_200 * N)
    assert values(ms)[0][:2] == ("pr", 200.0)
    assert d.stats.rejected == 1 and d.stats.skipped_bytes == 5


def test_v7_commands_are_the_documented_control_packets():
    d = Cms50V7Decoder()
    assert d.start_commands() == bytes([0x7D, 0x81, 0xA1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80])
    assert d.keepalive() == bytes([0x7D, 0x81, 0xAF, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80])
    assert d.keepalive_interval_s == 1.0
    assert v7_control(0xA2)[2] == 0xA2


def test_v7_encoder_matches_the_hand_written_frames():
    assert cms50_v7_realtime(0x40, 72, 97, pi=360, bar=5) == V7_NORMAL
    assert cms50_v7_realtime(0x40, 200, 97, pi=360, bar=5) == V7_PR_200


# ---- old 5-byte stream ------------------------------------------------------------------------

# signal 5, pleth 0x30, bar 3, PR 72, SpO2 98
L5_NORMAL = bytes([0x85, 0x30, 0x03, 0x48, 0x62])
# PR 200 = 0b1100_1000: bit 7 -> byte 2 bit 6 (0x40); bits 0-6 = 0x48
L5_PR_200 = bytes([0x85, 0x30, 0x43, 0x48, 0x62])
# "searching too long" (byte 0 bit 4): finger out
L5_FINGER_OUT = bytes([0x90, 0x00, 0x00, 0x7F, 0x7F])
# searching pulse (byte 2 bit 5)
L5_SEARCHING = bytes([0x85, 0x30, 0x23, 0x48, 0x62])


def test_live5_frame_and_pr_200():
    d = Cms50Live5Decoder()
    assert values(d.feed(L5_NORMAL * N)) == [("pr", 72.0, Quality.OK, Flag.NONE), ("spo2", 98.0, Quality.OK, Flag.NONE)]
    d = Cms50Live5Decoder()
    assert values(d.feed(L5_PR_200 * N))[0] == ("pr", 200.0, Quality.OK, Flag.NONE)


def test_live5_finger_out_and_searching():
    d = Cms50Live5Decoder()
    ms = d.feed(L5_FINGER_OUT * N)
    assert all(m.quality is Quality.INVALID and Flag.PROBE_OFF in m.flags and math.isnan(m.value) for m in ms)
    d = Cms50Live5Decoder()
    assert {(m.quality, m.flags) for m in d.feed(L5_SEARCHING * N)} == {(Quality.QUESTIONABLE, Flag.SEARCHING)}


def test_live5_sentinels_127_and_255_are_no_value():
    d = Cms50Live5Decoder()
    ms = d.feed(bytes([0x85, 0x30, 0x43, 0x7F, 0x7F]) * N)  # PR 255, SpO2 127
    assert all(m.quality is Quality.INVALID and Flag.NO_VALUE in m.flags for m in ms)


def test_live5_garbage_and_cut_frames_resync():
    d = Cms50Live5Decoder()
    ms = d.feed(b"\x01\x02" + L5_NORMAL[:3] + L5_PR_200 * N)
    assert values(ms)[0][:2] == ("pr", 200.0)
    assert d.stats.rejected == 1 and d.stats.skipped_bytes == 5
    assert cms50_live5_frame(0x30, 200, 98, signal=5, bar=3) == L5_PR_200
