"""IEEE 11073 SFLOAT from the specification (protocols.md §1.3): two's-complement exponent and
mantissa, five special values that must never decode to a number."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.ble.sfloat import MAX_MANTISSA, decode_sfloat, encode_raw, encode_sfloat, special_name


def raw(le_bytes: str) -> int:
    return int.from_bytes(bytes.fromhex(le_bytes), "little")


def test_the_specification_example_65_f0_is_10_point_1():
    assert decode_sfloat(raw("65 F0")) == 10.1


@pytest.mark.parametrize(
    ("wire", "value"),
    [
        ("78 00", 120.0),  # exponent 0, mantissa 120
        ("B0 F4", 120.0),  # 1200 × 10^-1: the same number, another encoding
        ("01 10", 10.0),  # 1 × 10^1
        ("FF 0F", -1.0),  # mantissa 0xFFF = -1
        ("00 08", math.nan),  # NRes
        ("62 F3", 86.6),  # 866 × 10^-1
        ("FF FF", -0.1),  # mantissa -1, exponent -1
        ("01 E0", 0.01),  # exponent -2
        ("01 80", 1e-8),  # exponent nibble 8 is -8, not +0 (the bias-8 bug of a public library)
        ("01 70", 1e7),
    ],
)
def test_hand_written_values(wire, value):
    got = decode_sfloat(raw(wire))
    if math.isnan(value):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    ("wire", "name", "kind"),
    [
        ("FF 07", "NaN", "nan"),
        ("00 08", "NRes", "nan"),
        ("01 08", "reserved", "nan"),
        ("FE 07", "+INF", "+inf"),
        ("02 08", "-INF", "-inf"),
    ],
)
def test_special_values_are_never_numbers(wire, name, kind):
    value = decode_sfloat(raw(wire))
    assert special_name(raw(wire)) == name
    assert not math.isfinite(value)
    assert {"nan": math.isnan(value), "+inf": value == math.inf, "-inf": value == -math.inf}[kind]


def test_special_mantissas_at_other_exponents_are_plain_numbers():
    assert decode_sfloat(encode_raw(2047, -1)) == pytest.approx(204.7)
    assert special_name(encode_raw(2047, -1)) is None


def test_encoder_emits_specials_and_refuses_out_of_range():
    assert encode_sfloat(math.nan) == 0x07FF
    assert encode_sfloat(math.inf) == 0x07FE
    assert encode_sfloat(-math.inf) == 0x0802
    with pytest.raises(ValueError):
        encode_sfloat(1e12)


@given(st.integers(0, 0xFFFF))
def test_any_raw_value_decodes_without_error(r):
    value = decode_sfloat(r)
    assert (special_name(r) is None) == math.isfinite(value)


@given(st.integers(-MAX_MANTISSA, MAX_MANTISSA), st.integers(-3, 3))
def test_encode_decode_round_trip_on_representable_values(mantissa, exponent):
    value = mantissa * 10.0**exponent
    assert decode_sfloat(encode_sfloat(value)) == pytest.approx(value, rel=1e-9, abs=1e-12)
