"""Property tests for every serial decoder: arbitrary bytes never raise, any split of a valid stream
decodes the same, and cut or bit-flipped frames are refused and followed by a clean resync."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.decoding import load_all
from devices.sim.protocol_sims import (
    accutorr_line,
    cms50_live5_frame,
    cms50_v7_realtime,
    hl7_oru,
    masimo_line,
    nonin8_record,
    nonin_packet,
)

REGISTRY = load_all()
SERIAL = sorted(n for n, s in REGISTRY.items() if s.transport == "serial")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def unit(hr: int, spo2: int, k: int) -> bytes:
    """The smallest valid unit of each protocol for one (HR, SpO2) pair: enough frames for the frame
    lock of the protocols without a checksum, as a device sends them every second."""
    return {
        "cms50-live5": lambda: cms50_live5_frame(k % 128, hr, spo2) * 5,
        "cms50-v7": lambda: cms50_v7_realtime(k % 128, hr, spo2, pi=k) * 5,
        "nonin-2": lambda: nonin_packet(2, hr, spo2, 0x82, [(k * 7 + i) % 256 for i in range(25)]),
        "nonin-7": lambda: nonin_packet(7, hr, spo2, 0x82, [(k * 999 + i) % 65536 for i in range(25)]),
        "nonin-8": lambda: nonin8_record(0x02, hr, spo2) * 3,
        "masimo-ascii": lambda: masimo_line(1_700_000_000 + 2 * k, spo2, hr) + masimo_line(1_700_000_001 + 2 * k, spo2, hr),
        "accutorr": lambda: accutorr_line(spo2, hr, 100 + k % 50, 80, 60 + k % 7, minutes=k % 3) * 2,
        "hl7-mllp": lambda: hl7_oru(f"C{k}", 1_700_000_000 + k, [("hr", hr), ("spo2", spo2), ("nibp_sys", 120 + k % 9)]),
    }[NAME]()


NAME = ""


def stream(name: str, pairs: list[tuple[int, int]]) -> bytes:
    global NAME
    NAME = name
    return b"".join(unit(hr, spo2, k) for k, (hr, spo2) in enumerate(pairs))


def decode(name: str, chunks: list[bytes]) -> list[tuple]:
    d = REGISTRY[name].factory()
    out = []
    for c in chunks:
        out.extend(d.feed(c))
    return [(m.channel, None if math.isnan(m.value) else m.value, m.quality, m.flags, m.device_t) for m in out]


pairs_st = st.lists(st.tuples(st.integers(30, 250), st.integers(50, 100)), min_size=1, max_size=8)


@pytest.mark.parametrize("name", SERIAL)
@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_raise(name, data):
    d = REGISTRY[name].factory()
    for i in range(0, len(data), 97):
        for m in d.feed(data[i : i + 97]):
            assert m.quality.name == "INVALID" or m.value > 0  # never a made-up 0
    s = d.stats
    assert s.frames >= 0 and s.rejected >= 0 and s.skipped_bytes <= len(data)


@pytest.mark.parametrize("name", SERIAL)
@FUZZ
@given(pairs=pairs_st, cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_gives_the_same_measurements(name, pairs, cuts):
    data = stream(name, pairs)
    whole = decode(name, [data])
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert decode(name, chunks) == whole
    assert decode(name, [data[i : i + 1] for i in range(len(data))]) == whole
    assert any(v[1] is not None for v in whole)


@pytest.mark.parametrize("name", SERIAL)
@FUZZ
@given(pairs=pairs_st, cut=st.integers(1, 10_000), flip=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_damaged_frames_are_refused_and_the_decoder_resyncs(name, pairs, cut, flip, bit):
    good = stream(name, [(77, 96)])
    damaged_src = stream(name, pairs)
    truncated = damaged_src[: max(1, cut % len(damaged_src))]
    flipped = bytearray(damaged_src)
    flipped[flip % len(flipped)] ^= 1 << bit
    for bad in (truncated, bytes(flipped)):
        d = REGISTRY[name].factory()
        d.feed(bad)
        tail = []
        for _ in range(3):  # a resync may need a frame or two (the stream may end mid-frame)
            tail = d.feed(good)
        values = {(m.channel, m.value) for m in tail if not math.isnan(m.value)}
        assert values <= {
            ("pr", 77.0),
            ("hr", 77.0),
            ("spo2", 96.0),
            ("nibp_sys", 120.0),
            ("nibp_sys", 100.0),
            ("nibp_map", 80.0),
            ("nibp_dia", 60.0),
        }


@pytest.mark.parametrize("name", SERIAL)
def test_truncated_frame_followed_by_good_ones_is_counted(name):
    data = stream(name, [(90, 97), (91, 97)])
    first = stream(name, [(90, 97)])
    d = REGISTRY[name].factory()
    d.feed(first[: len(first) // 2 + 1] + data)
    assert d.stats.rejected + d.stats.skipped_bytes > 0
