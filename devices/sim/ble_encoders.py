"""The health characteristics as bytes, built from the same field tables as the parsers.

Used by the simulated peripherals and by the tests' round trips. Deliberately plain: every flag is
derived from which optional field is given, so an encoder can never send a flag without its field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from devices.ble.gatt import MMHG_PER_KPA, RR_UNITS_PER_S, DateTime
from devices.ble.sfloat import encode_sfloat


def _u16(v: int) -> bytes:
    return int(v).to_bytes(2, "little")


def _sf(v: float) -> bytes:
    return _u16(encode_sfloat(v))


def date_time(t: float | DateTime) -> bytes:
    """7-byte GATT Date Time of an epoch time (UTC) or of explicit fields."""
    if not isinstance(t, DateTime):
        d = datetime.fromtimestamp(t, tz=UTC)
        t = DateTime(d.year, d.month, d.day, d.hour, d.minute, d.second)
    return _u16(t.year) + bytes((t.month, t.day, t.hour, t.minute, t.second))


def heart_rate(
    bpm: int,
    contact: bool | None = True,
    energy_kj: int | None = None,
    rr_s: Sequence[float] = (),
    wide: bool | None = None,
) -> bytes:
    """Heart Rate Measurement; ``contact`` None = contact detection not supported; ``wide`` forces
    the 16-bit format (default: only when the value needs it)."""
    wide = bpm > 255 if wide is None else wide
    flags = 0x01 if wide else 0x00
    if contact is not None:
        flags |= 0x06 if contact else 0x04
    if energy_kj is not None:
        flags |= 0x08
    if rr_s:
        flags |= 0x10
    out = bytes((flags,)) + (_u16(bpm) if wide else bytes((bpm,)))
    if energy_kj is not None:
        out += _u16(energy_kj)
    for rr in rr_s:
        out += _u16(min(0xFFFF, round(rr * RR_UNITS_PER_S)))
    return out


def blood_pressure(
    systolic: float,
    diastolic: float,
    mean: float,
    *,
    kpa: bool = False,
    timestamp: float | DateTime | None = None,
    pulse_rate: float | None = None,
    user_id: int | None = None,
    status: int | None = None,
) -> bytes:
    """Blood Pressure Measurement (and, with diastolic/mean NaN, Intermediate Cuff Pressure).
    Pressures are given in mmHg; ``kpa`` converts them and sets the unit flag."""
    flags = (0x01 if kpa else 0) | (0x02 if timestamp is not None else 0) | (0x04 if pulse_rate is not None else 0)
    flags |= (0x08 if user_id is not None else 0) | (0x10 if status is not None else 0)

    def p(v: float) -> bytes:
        return _sf(v / MMHG_PER_KPA if kpa and math.isfinite(v) else v)

    out = bytes((flags,)) + p(systolic) + p(diastolic) + p(mean)
    if timestamp is not None:
        out += date_time(timestamp)
    if pulse_rate is not None:
        out += _sf(pulse_rate)
    if user_id is not None:
        out += bytes((user_id,))
    if status is not None:
        out += _u16(status)
    return out


def intermediate_cuff_pressure(pressure: float, *, kpa: bool = False, status: int | None = None) -> bytes:
    """Intermediate Cuff Pressure: the live pressure; diastolic and MAP sent as NaN like most cuffs."""
    return blood_pressure(pressure, math.nan, math.nan, kpa=kpa, status=status)


def plx_continuous(
    spo2: float,
    pr: float,
    *,
    fast: tuple[float, float] | None = None,
    slow: tuple[float, float] | None = None,
    measurement_status: int | None = None,
    sensor_status: int | None = None,
    pai: float | None = None,
) -> bytes:
    flags = (0x01 if fast else 0) | (0x02 if slow else 0) | (0x04 if measurement_status is not None else 0)
    flags |= (0x08 if sensor_status is not None else 0) | (0x10 if pai is not None else 0)
    out = bytes((flags,)) + _sf(spo2) + _sf(pr)
    if fast:
        out += _sf(fast[0]) + _sf(fast[1])
    if slow:
        out += _sf(slow[0]) + _sf(slow[1])
    if measurement_status is not None:
        out += _u16(measurement_status)
    if sensor_status is not None:
        out += int(sensor_status).to_bytes(3, "little")
    if pai is not None:
        out += _sf(pai)
    return out


def plx_spot_check(
    spo2: float,
    pr: float,
    *,
    timestamp: float | DateTime | None = None,
    measurement_status: int | None = None,
    sensor_status: int | None = None,
    pai: float | None = None,
    clock_not_set: bool = False,
) -> bytes:
    flags = (0x01 if timestamp is not None else 0) | (0x02 if measurement_status is not None else 0)
    flags |= (0x04 if sensor_status is not None else 0) | (0x08 if pai is not None else 0) | (0x10 if clock_not_set else 0)
    out = bytes((flags,)) + _sf(spo2) + _sf(pr)
    if timestamp is not None:
        out += date_time(timestamp)
    if measurement_status is not None:
        out += _u16(measurement_status)
    if sensor_status is not None:
        out += int(sensor_status).to_bytes(3, "little")
    if pai is not None:
        out += _sf(pai)
    return out


def plx_features(features: int, measurement_status_support: int | None = None, sensor_status_support: int | None = None) -> bytes:
    out = _u16(features)
    if features & 0x0001:
        out += _u16(measurement_status_support or 0)
    if features & 0x0002:
        out += int(sensor_status_support or 0).to_bytes(3, "little")
    return out
