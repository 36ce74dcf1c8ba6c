"""The frame lock's targets, measured with bench.bench_decoders: no decoder makes an OK reading out
of 1 MB of random bytes, and damaged frames (each bit flipped with p = 1 %) give at most the wrong
OK values per MB each protocol reaches (<= 1 where a frame lock can get there; where it cannot,
the figure it reaches, so it cannot regress)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.bench_decoders import clean_kept, mutated_wrong, random_ok
from devices.decoding import load_all

REGISTRY = load_all()
SERIAL = sorted(n for n, s in REGISTRY.items() if s.transport == "serial")

#: Wrong OK values per MB of 1 %-bit-flipped valid frames (measured 2026-12-07; before the lock:
#: cms50-live5 1370, cms50-v7 859, masimo 308, accutorr 1074, nonin-8 31563).
WRONG_PER_MB = {
    "cms50-live5": 1.0,
    "cms50-v7": 1.0,
    "masimo-ascii": 1.0,
    # digit-for-digit flips in SaO2/PR cannot be seen in an ASCII line without a checksum (measured 25)
    "accutorr": 30.0,
    # 16 of the record's 32 bits are values where every pattern is valid: no redundancy (measured 24209)
    "nonin-8": 26000.0,
    # checksummed or MLLP-framed: what the checksum / structure leaves (measured 0-3)
    "nonin-2": 5.0,
    "nonin-7": 5.0,
    "hl7-mllp": 5.0,
}
#: Frames of a clean stream before the first value: the lock's N (and the 3 agreeing CMS50 frames).
FIRST_VALUE_BY = {
    "cms50-live5": 4,
    "cms50-v7": 4,
    "nonin-2": 2,
    "nonin-7": 2,
    "nonin-8": 2,
    "masimo-ascii": 1,
    "accutorr": 1,
    "hl7-mllp": 0,
}


@pytest.mark.parametrize("name", SERIAL)
def test_one_mb_of_random_bytes_gives_no_ok_reading(name):
    assert random_ok(name, 1_000_000, seed=11) == 0


@pytest.mark.parametrize("name", SERIAL)
@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=100, max_size=5000))
def test_random_bytes_give_no_ok_reading(name, data):
    d = REGISTRY[name].factory()
    assert not [m for m in d.feed(data) if m.quality.name == "OK"]


@pytest.mark.parametrize("name", SERIAL)
def test_bit_flipped_frames_give_at_most_the_reached_wrong_values(name):
    damage = mutated_wrong(name, 1_000_000)
    assert damage.wrong_per_mb <= WRONG_PER_MB[name], damage.examples


@pytest.mark.parametrize("name", SERIAL)
def test_a_clean_stream_loses_only_the_first_n_frames(name):
    first, total = clean_kept(name)
    assert first <= FIRST_VALUE_BY[name] < total
