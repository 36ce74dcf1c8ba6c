"""IEEE 11073-20601 16-bit SFLOAT, the number format of the Bluetooth health profiles.

A u16 (little-endian on the wire): high nibble = base-10 exponent, low 12 bits = mantissa, both
two's complement (``protocols.md`` §1.3 — a public library gets the exponent sign wrong). Five raw
values at exponent 0 are not numbers (NaN, NRes, ±INF, reserved); they decode to NaN or ±inf so a
caller can never mistake them for a measurement.
"""

from __future__ import annotations

import math
from typing import Final

NAN: Final = 0x07FF
NRES: Final = 0x0800
POS_INF: Final = 0x07FE
NEG_INF: Final = 0x0802
RESERVED: Final = 0x0801

SPECIALS: Final[dict[int, str]] = {NAN: "NaN", NRES: "NRes", POS_INF: "+INF", NEG_INF: "-INF", RESERVED: "reserved"}

#: Largest mantissa magnitude of a finite value at exponent 0 (2046/2047 and -2048..-2046 are the specials there).
MAX_MANTISSA: Final = 2045


def special_name(raw: int) -> str | None:
    """ "NaN", "NRes", "+INF", "-INF", "reserved" for the special raw values, else None."""
    return SPECIALS.get(raw & 0xFFFF)


def decode_sfloat(raw: int) -> float:
    """The value of a raw SFLOAT: NaN for NaN / NRes / reserved, ±inf for ±INF."""
    raw &= 0xFFFF
    if raw in (NAN, NRES, RESERVED):
        return math.nan
    if raw == POS_INF:
        return math.inf
    if raw == NEG_INF:
        return -math.inf
    mantissa = raw & 0x0FFF
    if mantissa >= 0x0800:
        mantissa -= 0x1000
    exponent = raw >> 12
    if exponent >= 0x8:
        exponent -= 0x10
    if exponent >= 0:
        return float(mantissa * 10**exponent)
    return mantissa / 10**-exponent  # a division is correctly rounded: 101 / 10 == 10.1


def encode_sfloat(value: float) -> int:
    """The raw SFLOAT closest to ``value``, with the finest exponent that fits (NaN → NaN, ±inf → ±INF).

    Raises ValueError for a finite value outside the SFLOAT range (±2045e7): that is a bug in
    the caller, never something a device sent.
    """
    if math.isnan(value):
        return NAN
    if math.isinf(value):
        return POS_INF if value > 0 else NEG_INF
    for exponent in range(-8, 8):
        mantissa = round(value / 10**exponent) if exponent >= 0 else round(value * 10**-exponent)
        limit = MAX_MANTISSA if exponent == 0 else 2047  # the specials exist at exponent 0 only
        if -limit <= mantissa <= limit:
            return ((exponent & 0xF) << 12) | (mantissa & 0x0FFF)
    raise ValueError(f"{value!r} is outside the SFLOAT range")


def encode_raw(mantissa: int, exponent: int) -> int:
    """A raw SFLOAT from its parts, for tests that need one exact encoding."""
    if not -2048 <= mantissa <= 2047 or not -8 <= exponent <= 7:
        raise ValueError(f"mantissa {mantissa} / exponent {exponent} do not fit an SFLOAT")
    return ((exponent & 0xF) << 12) | (mantissa & 0x0FFF)
