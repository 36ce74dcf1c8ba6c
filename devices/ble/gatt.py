"""Sans-I/O parsers for the Bluetooth SIG health characteristics, and the decoders built on them.

One characteristic value in, one parsed record (or ``GattFormatError``) out: no Bluetooth stack,
no clock, so every rule of ``protocols.md`` §1 is tested with hand-written bytes. The decoders
(``ble-hrs``, ``ble-bpm``, ``ble-icp``, ``ble-plx-spot``, ``ble-plx-cont``) turn the records into
``Measurement``s and never raise on bad input: a malformed value is a counted rejection, a special
SFLOAT (NaN, NRes, ±INF, reserved) an INVALID measurement — never a number.

All multi-byte fields are little-endian. Device timestamps (the cuff's and the spot-check's
date-time) carry no time zone; they are read as UTC, which is what the simulated devices send.
"""

from __future__ import annotations

import calendar
import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from devices.ble.sfloat import decode_sfloat, special_name
from devices.decoding import DecoderSpec, DecoderStats, Measurement, register
from monitor.readings import Flag, Quality

#: 1 kPa in mmHg (101.325 kPa = 760 mmHg).
MMHG_PER_KPA: Final = 760.0 / 101.325
#: RR intervals are sent in 1/1024 s.
RR_UNITS_PER_S: Final = 1024.0
#: How many rejection reasons a decoder keeps for the "test" button and the logs.
MAX_NOTES: Final = 10


def uuid16(short: int) -> str:
    """The full 128-bit UUID string of a 16-bit SIG UUID (what bleak expects)."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


# ---- assigned numbers -------------------------------------------------------------------------
HEART_RATE_SERVICE: Final = 0x180D
BLOOD_PRESSURE_SERVICE: Final = 0x1810
PULSE_OXIMETER_SERVICE: Final = 0x1822
BATTERY_SERVICE: Final = 0x180F
DEVICE_INFORMATION_SERVICE: Final = 0x180A

HEART_RATE_MEASUREMENT: Final = 0x2A37
BLOOD_PRESSURE_MEASUREMENT: Final = 0x2A35
INTERMEDIATE_CUFF_PRESSURE: Final = 0x2A36
PLX_SPOT_CHECK: Final = 0x2A5E
PLX_CONTINUOUS: Final = 0x2A5F
PLX_FEATURES: Final = 0x2A60
BATTERY_LEVEL: Final = 0x2A19

#: Device Information strings worth showing (characteristic → label).
DEVICE_INFORMATION_STRINGS: Final[dict[int, str]] = {
    0x2A29: "manufacturer",
    0x2A24: "model",
    0x2A25: "serial number",
    0x2A27: "hardware revision",
    0x2A26: "firmware revision",
    0x2A28: "software revision",
}


class GattFormatError(ValueError):
    """A characteristic value that does not follow its specification (length, reserved bits)."""


class _Reader:
    """Reads little-endian fields from one characteristic value, with a clear error when short."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def take(self, n: int, field: str) -> bytes:
        if self._pos + n > len(self._data):
            raise GattFormatError(f"{self._what}: {len(self._data)} bytes, too short for the {field}")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), "little")

    def u24(self, field: str) -> int:
        return int.from_bytes(self.take(3, field), "little")

    def sfloat(self, field: str) -> float:
        return decode_sfloat(self.u16(field))

    def sfloat_raw(self, field: str) -> int:
        return self.u16(field)

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def end(self) -> None:
        if self.remaining:
            raise GattFormatError(f"{self._what}: {self.remaining} unexpected trailing byte(s)")


def _check_rfu(flags: int, allowed_mask: int, what: str) -> None:
    if flags & ~allowed_mask & 0xFF:
        raise GattFormatError(f"{what}: reserved flag bits set (flags 0x{flags:02X})")


@dataclass(frozen=True, slots=True)
class DateTime:
    """The 7-byte GATT Date Time as sent; ``epoch`` is None when unknown (0 fields) or impossible."""

    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int

    @property
    def epoch(self) -> float | None:
        if self.year == 0 or self.month == 0 or self.day == 0:
            return None  # the spec's "not known"
        if not (1582 <= self.year <= 9999 and self.month <= 12 and self.hour <= 23 and self.minute <= 59 and self.second <= 59):
            return None
        if self.day > calendar.monthrange(self.year, self.month)[1]:
            return None
        return float(calendar.timegm((self.year, self.month, self.day, self.hour, self.minute, self.second, 0, 0, 0)))


def _date_time(r: _Reader) -> DateTime:
    year = r.u16("timestamp")
    month, day, hour, minute, second = r.take(5, "timestamp")
    return DateTime(year, month, day, hour, minute, second)


# ---- Heart Rate Measurement 0x2A37 --------------------------------------------------------------
class SensorContact(enum.Enum):
    NOT_SUPPORTED = "not supported"
    NO_CONTACT = "no contact"
    CONTACT = "contact"


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    bpm: int
    contact: SensorContact
    energy_kj: int | None  # cumulative energy expended since the last reset
    rr_s: tuple[float, ...]  # beat-to-beat intervals, oldest first, seconds


def parse_heart_rate(data: bytes) -> HeartRateMeasurement:
    """Heart Rate Measurement: flags, u8/u16 HR, optional energy, any number of RR intervals."""
    r = _Reader(data, "Heart Rate Measurement")
    flags = r.u8("flags")
    _check_rfu(flags, 0x1F, "Heart Rate Measurement")
    bpm = r.u16("16-bit heart rate") if flags & 0x01 else r.u8("heart rate")
    contact_bits = (flags >> 1) & 0x03  # 0/1 not supported, 2 no contact, 3 contact
    contact = {2: SensorContact.NO_CONTACT, 3: SensorContact.CONTACT}.get(contact_bits, SensorContact.NOT_SUPPORTED)
    energy = r.u16("energy expended") if flags & 0x08 else None
    rr: tuple[float, ...] = ()
    if flags & 0x10:
        if r.remaining == 0 or r.remaining % 2:
            raise GattFormatError(
                f"Heart Rate Measurement: RR flag set with {r.remaining} RR byte(s) (need a non-zero even number)"
            )
        rr = tuple(r.u16("RR interval") / RR_UNITS_PER_S for _ in range(r.remaining // 2))
    r.end()
    return HeartRateMeasurement(bpm, contact, energy, rr)


# ---- Blood Pressure Measurement 0x2A35 / Intermediate Cuff Pressure 0x2A36 ------------------------
class BpStatus(enum.IntFlag):
    """Measurement Status of the Blood Pressure Measurement (bits 3-4 are the pulse-rate range)."""

    BODY_MOVEMENT = 0x0001
    CUFF_TOO_LOOSE = 0x0002
    IRREGULAR_PULSE = 0x0004
    PULSE_ABOVE_RANGE = 0x0008
    PULSE_BELOW_RANGE = 0x0010
    IMPROPER_POSITION = 0x0020


@dataclass(frozen=True, slots=True)
class BloodPressureMeasurement:
    """Pressures in mmHg whatever unit the cuff used (NaN / ±inf for special SFLOATs)."""

    systolic: float
    diastolic: float
    mean: float
    kpa: bool  # the cuff sent kPa (converted here)
    timestamp: DateTime | None
    pulse_rate: float | None
    user_id: int | None  # 255 = unknown user
    status: int | None
    specials: tuple[str, ...] = ()  # "systolic: NRes", ... for the notes


def parse_blood_pressure(data: bytes, what: str = "Blood Pressure Measurement") -> BloodPressureMeasurement:
    """Blood Pressure Measurement and Intermediate Cuff Pressure share this layout (§1.2)."""
    r = _Reader(data, what)
    flags = r.u8("flags")
    _check_rfu(flags, 0x1F, what)
    kpa = bool(flags & 0x01)
    specials: list[str] = []

    def pressure(field: str) -> float:
        raw = r.sfloat_raw(field)
        if (name := special_name(raw)) is not None:
            specials.append(f"{field}: {name}")
        value = decode_sfloat(raw)
        return value * MMHG_PER_KPA if kpa and math.isfinite(value) else value

    systolic = pressure("systolic")
    diastolic = pressure("diastolic")
    mean = pressure("mean arterial pressure")
    timestamp = _date_time(r) if flags & 0x02 else None
    pulse_rate = None
    if flags & 0x04:
        raw = r.sfloat_raw("pulse rate")
        if (name := special_name(raw)) is not None:
            specials.append(f"pulse rate: {name}")
        pulse_rate = decode_sfloat(raw)
    user_id = r.u8("user ID") if flags & 0x08 else None
    status = r.u16("measurement status") if flags & 0x10 else None
    r.end()
    return BloodPressureMeasurement(systolic, diastolic, mean, kpa, timestamp, pulse_rate, user_id, status, tuple(specials))


def parse_intermediate_cuff_pressure(data: bytes) -> BloodPressureMeasurement:
    """The live cuff pressure while it inflates is the "systolic" field; the other two are unused."""
    return parse_blood_pressure(data, "Intermediate Cuff Pressure")


# ---- PLX 0x2A5E / 0x2A5F / 0x2A60 -------------------------------------------------------------
class PlxMeasurementStatus(enum.IntFlag):
    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATE = 1 << 6
    VALIDATED = 1 << 7
    FULLY_QUALIFIED = 1 << 8
    FROM_STORAGE = 1 << 9
    DEMONSTRATION = 1 << 10
    TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    UNAVAILABLE = 1 << 13
    QUESTIONABLE = 1 << 14
    INVALID = 1 << 15


class PlxSensorStatus(enum.IntFlag):
    EXTENDED_DISPLAY_UPDATE = 1 << 0
    EQUIPMENT_MALFUNCTION = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY = 1 << 2
    INADEQUATE_SIGNAL = 1 << 3
    POOR_SIGNAL = 1 << 4
    LOW_PERFUSION = 1 << 5
    ERRATIC_SIGNAL = 1 << 6
    NON_PULSATILE = 1 << 7
    QUESTIONABLE_PULSE = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE = 1 << 10
    SENSOR_UNCONNECTED = 1 << 11
    UNKNOWN_SENSOR = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


@dataclass(frozen=True, slots=True)
class PlxContinuous:
    spo2: float
    pr: float
    fast: tuple[float, float] | None  # (SpO2, PR) with fast averaging
    slow: tuple[float, float] | None
    measurement_status: int | None
    sensor_status: int | None
    pai: float | None  # pulse amplitude index, %


@dataclass(frozen=True, slots=True)
class PlxSpotCheck:
    spo2: float
    pr: float
    timestamp: DateTime | None
    measurement_status: int | None
    sensor_status: int | None
    pai: float | None
    clock_not_set: bool


@dataclass(frozen=True, slots=True)
class PlxFeatures:
    features: int
    measurement_status_support: int | None
    sensor_status_support: int | None


def parse_plx_continuous(data: bytes) -> PlxContinuous:
    """PLX Continuous: note that its flag bits differ from the spot-check's (bit0 = fast values)."""
    r = _Reader(data, "PLX Continuous Measurement")
    flags = r.u8("flags")
    _check_rfu(flags, 0x1F, "PLX Continuous Measurement")
    spo2, pr = r.sfloat("SpO2"), r.sfloat("pulse rate")
    fast = (r.sfloat("SpO2 fast"), r.sfloat("PR fast")) if flags & 0x01 else None
    slow = (r.sfloat("SpO2 slow"), r.sfloat("PR slow")) if flags & 0x02 else None
    mstatus = r.u16("measurement status") if flags & 0x04 else None
    sstatus = r.u24("device and sensor status") if flags & 0x08 else None
    pai = r.sfloat("pulse amplitude index") if flags & 0x10 else None
    r.end()
    return PlxContinuous(spo2, pr, fast, slow, mstatus, sstatus, pai)


def parse_plx_spot_check(data: bytes) -> PlxSpotCheck:
    """PLX Spot-check: bit0 timestamp, bit1/2 status fields, bit3 PAI, bit4 "device clock not set"."""
    r = _Reader(data, "PLX Spot-check Measurement")
    flags = r.u8("flags")
    _check_rfu(flags, 0x1F, "PLX Spot-check Measurement")
    spo2, pr = r.sfloat("SpO2"), r.sfloat("pulse rate")
    timestamp = _date_time(r) if flags & 0x01 else None
    mstatus = r.u16("measurement status") if flags & 0x02 else None
    sstatus = r.u24("device and sensor status") if flags & 0x04 else None
    pai = r.sfloat("pulse amplitude index") if flags & 0x08 else None
    r.end()
    return PlxSpotCheck(spo2, pr, timestamp, mstatus, sstatus, pai, bool(flags & 0x10))


def parse_plx_features(data: bytes) -> PlxFeatures:
    """PLX Features: which status bits the oximeter can report at all."""
    r = _Reader(data, "PLX Features")
    features = r.u16("supported features")
    mss = r.u16("measurement status support") if features & 0x0001 else None
    sss = r.u24("device and sensor status support") if features & 0x0002 else None
    r.end()
    return PlxFeatures(features, mss, sss)


def parse_battery_level(data: bytes) -> int:
    """Battery Level: one byte, 0-100 %."""
    r = _Reader(data, "Battery Level")
    level = r.u8("level")
    r.end()
    if level > 100:
        raise GattFormatError(f"Battery Level: {level} % is above 100 %")
    return level


def parse_device_information_string(data: bytes) -> str:
    """A Device Information string (UTF-8, some devices pad with NULs or send bad bytes)."""
    return data.split(b"\x00", 1)[0].decode("utf-8", "replace").strip()


# ---- records → Measurements ------------------------------------------------------------------
def _finite_or_invalid(channel: str, value: float | None, quality: Quality, flags: Flag, device_t: float | None) -> Measurement:
    """A special SFLOAT (or a missing value) becomes INVALID with NO_VALUE: never a number."""
    if value is None or not math.isfinite(value):
        return Measurement(channel, math.nan, Quality.INVALID, flags | Flag.NO_VALUE, device_t)
    if quality is Quality.INVALID:  # the device said its number is not to be trusted at all
        return Measurement(channel, math.nan, quality, flags, device_t)
    return Measurement(channel, value, quality, flags, device_t)


def _worse(a: tuple[Quality, Flag], b: tuple[Quality, Flag]) -> tuple[Quality, Flag]:
    return max(a[0], b[0]), a[1] | b[1]


def heart_rate_measurements(m: HeartRateMeasurement) -> list[Measurement]:
    """``hr``; no skin contact → INVALID with PROBE_OFF; 0 bpm (straps send it while searching) → no value.

    RR intervals and energy have no channel yet; they stay in the parsed record.
    """
    if m.contact is SensorContact.NO_CONTACT:
        return [Measurement("hr", math.nan, Quality.INVALID, Flag.PROBE_OFF)]
    if m.bpm == 0:
        return [Measurement("hr", math.nan, Quality.INVALID, Flag.NO_VALUE)]
    return [Measurement("hr", float(m.bpm))]


def _bp_quality(status: int | None) -> tuple[Quality, Flag]:
    """Body movement and a bad cuff position spoil the reading; a loose cuff is a sensor problem."""
    if not status:
        return Quality.OK, Flag.NONE
    flags = Flag.NONE
    if status & (BpStatus.BODY_MOVEMENT | BpStatus.IMPROPER_POSITION):
        flags |= Flag.ARTEFACT
    if status & BpStatus.CUFF_TOO_LOOSE:
        flags |= Flag.SENSOR_FAULT
    return (Quality.QUESTIONABLE if flags else Quality.OK), flags


def blood_pressure_measurements(m: BloodPressureMeasurement) -> list[Measurement]:
    """``nibp_sys`` / ``nibp_dia`` / ``nibp_map`` (+ ``pr``), all with the cuff's timestamp as device_t."""
    device_t = m.timestamp.epoch if m.timestamp is not None else None
    quality, flags = _bp_quality(m.status)
    out = [
        _finite_or_invalid("nibp_sys", m.systolic, quality, flags, device_t),
        _finite_or_invalid("nibp_dia", m.diastolic, quality, flags, device_t),
        _finite_or_invalid("nibp_map", m.mean, quality, flags, device_t),
    ]
    if m.pulse_rate is not None:
        out.append(_finite_or_invalid("pr", m.pulse_rate, quality, flags, device_t))
    return out


def cuff_pressure_measurements(m: BloodPressureMeasurement) -> list[Measurement]:
    """The live ``cuff`` pressure; diastolic and MAP are unused in this characteristic."""
    quality, flags = _bp_quality(m.status)
    device_t = m.timestamp.epoch if m.timestamp is not None else None
    return [_finite_or_invalid("cuff", m.systolic, quality, flags, device_t)]


_DEMO_OR_TEST: Final = PlxMeasurementStatus.DEMONSTRATION | PlxMeasurementStatus.TESTING


def _plx_quality(mstatus: int | None, sstatus: int | None) -> tuple[Quality, Flag]:
    """The mapping of ``protocols.md`` §1.4: disconnected / unavailable / invalid → INVALID, weak or
    disturbed signal → QUESTIONABLE."""
    q: tuple[Quality, Flag] = (Quality.OK, Flag.NONE)
    m = PlxMeasurementStatus(mstatus & 0xFFE0) if mstatus else PlxMeasurementStatus(0)
    s = PlxSensorStatus(sstatus & 0xFFFF) if sstatus else PlxSensorStatus(0)
    if s & (PlxSensorStatus.SENSOR_DISCONNECTED | PlxSensorStatus.SENSOR_UNCONNECTED):
        q = _worse(q, (Quality.INVALID, Flag.PROBE_OFF))
    if s & (PlxSensorStatus.EQUIPMENT_MALFUNCTION | PlxSensorStatus.SENSOR_MALFUNCTIONING | PlxSensorStatus.UNKNOWN_SENSOR):
        q = _worse(q, (Quality.INVALID, Flag.SENSOR_FAULT))
    if m & (PlxMeasurementStatus.INVALID | PlxMeasurementStatus.UNAVAILABLE):
        q = _worse(q, (Quality.INVALID, Flag.NO_VALUE))
    if m & PlxMeasurementStatus.QUESTIONABLE:
        q = _worse(q, (Quality.QUESTIONABLE, Flag.NONE))
    if (
        m & (PlxMeasurementStatus.EARLY_ESTIMATE | PlxMeasurementStatus.CALIBRATION_ONGOING)
        or s & PlxSensorStatus.SIGNAL_ANALYSIS_ONGOING
    ):
        q = _worse(q, (Quality.QUESTIONABLE, Flag.SEARCHING))
    if s & PlxSensorStatus.LOW_PERFUSION:
        q = _worse(q, (Quality.QUESTIONABLE, Flag.LOW_PERFUSION))
    disturbed = (
        PlxSensorStatus.POOR_SIGNAL
        | PlxSensorStatus.ERRATIC_SIGNAL
        | PlxSensorStatus.SENSOR_INTERFERENCE
        | PlxSensorStatus.SENSOR_DISPLACED
        | PlxSensorStatus.INADEQUATE_SIGNAL
        | PlxSensorStatus.SIGNAL_PROCESSING_IRREGULARITY
    )
    if s & disturbed:
        q = _worse(q, (Quality.QUESTIONABLE, Flag.ARTEFACT))
    if s & (PlxSensorStatus.NON_PULSATILE | PlxSensorStatus.QUESTIONABLE_PULSE):
        q = _worse(q, (Quality.QUESTIONABLE, Flag.NONE))
    return q


def _plx_measurements(
    spo2: float, pr: float, mstatus: int | None, sstatus: int | None, device_t: float | None
) -> list[Measurement]:
    if mstatus and mstatus & _DEMO_OR_TEST:
        return []  # demonstration / test data must never be recorded as patient data
    quality, flags = _plx_quality(mstatus, sstatus)
    return [
        _finite_or_invalid("spo2", spo2, quality, flags, device_t),
        _finite_or_invalid("pr", pr, quality, flags, device_t),
    ]


def plx_continuous_measurements(m: PlxContinuous) -> list[Measurement]:
    """``spo2`` and ``pr`` from the normal-averaging values (fast/slow/PAI stay in the record)."""
    return _plx_measurements(m.spo2, m.pr, m.measurement_status, m.sensor_status, None)


def plx_spot_check_measurements(m: PlxSpotCheck) -> list[Measurement]:
    """``spo2`` and ``pr`` with the oximeter's timestamp, unless its clock is not set."""
    device_t = None if m.clock_not_set or m.timestamp is None else m.timestamp.epoch
    return _plx_measurements(m.spo2, m.pr, m.measurement_status, m.sensor_status, device_t)


# ---- decoders ---------------------------------------------------------------------------------
R = TypeVar("R")


class GattDecoder(Generic[R]):
    """One characteristic value per ``feed``; rejects malformed values and counts them.

    ``last`` keeps the last parsed record, so a driver can log what has no channel (RR intervals).
    """

    def __init__(self, name: str, parse: Callable[[bytes], R], measure: Callable[[R], list[Measurement]]) -> None:
        self.name = name
        self.stats = DecoderStats()
        self.last: R | None = None
        self._parse = parse
        self._measure = measure

    def feed(self, data: bytes) -> list[Measurement]:
        try:
            record = self._parse(bytes(data))
        except GattFormatError as exc:
            self.stats.rejected += 1
            self._note(str(exc))
            return []
        self.stats.frames += 1
        self.last = record
        specials = getattr(record, "specials", ())
        if specials:
            self._note("special SFLOAT values: " + ", ".join(specials))
        out = self._measure(record)
        if not out:
            self._note(f"{self.name}: demonstration/test data ignored")
        return out

    def _note(self, text: str) -> None:
        self.stats.notes.append(text)
        del self.stats.notes[:-MAX_NOTES]


@dataclass(frozen=True, slots=True)
class GattCharacteristic:
    """Where a decoder's values come from on the device."""

    service: int
    characteristic: int
    indicate: bool  # the profile sends indications (acknowledged) rather than notifications


#: The characteristic each decoder reads, filled in by ``_spec`` as each decoder is declared.
CHARACTERISTICS: Final[dict[str, GattCharacteristic]] = {}


def _spec(
    name: str,
    description: str,
    characteristic: GattCharacteristic,
    parse: Callable[[bytes], R],
    measure: Callable[[R], list[Measurement]],
) -> DecoderSpec:
    CHARACTERISTICS[name] = characteristic
    return register(
        DecoderSpec(
            name=name,
            description=description,
            factory=lambda: GattDecoder(name, parse, measure),
            transport="ble",
            input="hex-lines",
        )
    )


HRS = _spec(
    "ble-hrs",
    "Bluetooth Heart Rate Measurement 0x2A37 (chest straps)",
    GattCharacteristic(HEART_RATE_SERVICE, HEART_RATE_MEASUREMENT, indicate=False),
    parse_heart_rate,
    heart_rate_measurements,
)
BPM = _spec(
    "ble-bpm",
    "Bluetooth Blood Pressure Measurement 0x2A35 (cuffs)",
    GattCharacteristic(BLOOD_PRESSURE_SERVICE, BLOOD_PRESSURE_MEASUREMENT, indicate=True),
    parse_blood_pressure,
    blood_pressure_measurements,
)
ICP = _spec(
    "ble-icp",
    "Bluetooth Intermediate Cuff Pressure 0x2A36 (live cuff pressure)",
    GattCharacteristic(BLOOD_PRESSURE_SERVICE, INTERMEDIATE_CUFF_PRESSURE, indicate=False),
    parse_intermediate_cuff_pressure,
    cuff_pressure_measurements,
)
PLX_SPOT = _spec(
    "ble-plx-spot",
    "Bluetooth PLX Spot-check Measurement 0x2A5E (oximeters)",
    GattCharacteristic(PULSE_OXIMETER_SERVICE, PLX_SPOT_CHECK, indicate=True),
    parse_plx_spot_check,
    plx_spot_check_measurements,
)
PLX_CONT = _spec(
    "ble-plx-cont",
    "Bluetooth PLX Continuous Measurement 0x2A5F (oximeters)",
    GattCharacteristic(PULSE_OXIMETER_SERVICE, PLX_CONTINUOUS, indicate=False),
    parse_plx_continuous,
    plx_continuous_measurements,
)


@dataclass(frozen=True, slots=True)
class BleProfile:
    """One kind of Bluetooth vitals device, declared once: what the driver subscribes to, how the
    device is shown and when its silence means "no data", and which advertised service it answers."""

    name: str  # the protocol a device is configured with ("ble-bpm")
    label: str  # shown until the user names the device
    device_kind: str  # DeviceInfo.kind: "hr-strap" | "nibp" | "oximeter"
    stale_after_s: float  # session seconds without a value before "no data"; a cuff sends only when it measures
    service: int  # the GATT service a scan finds it by
    service_name: str
    required: tuple[str, ...]  # decoder names the device must offer
    optional: tuple[str, ...] = ()  # subscribed to when offered (a cuff's live inflation pressure)


#: The profiles by protocol name; for one service, the first declared is offered first.
PROFILES: Final[dict[str, BleProfile]] = {
    p.name: p
    for p in (
        BleProfile(
            name="ble-hrs",
            label="Bluetooth heart-rate strap",
            device_kind="hr-strap",
            stale_after_s=10.0,
            service=HEART_RATE_SERVICE,
            service_name="Heart Rate",
            required=("ble-hrs",),
        ),
        BleProfile(
            name="ble-bpm",
            label="Bluetooth blood-pressure cuff",
            device_kind="nibp",
            stale_after_s=3600.0,
            service=BLOOD_PRESSURE_SERVICE,
            service_name="Blood Pressure",
            required=("ble-bpm",),
            optional=("ble-icp",),
        ),
        BleProfile(
            name="ble-plx-cont",
            label="Bluetooth pulse oximeter",
            device_kind="oximeter",
            stale_after_s=10.0,
            service=PULSE_OXIMETER_SERVICE,
            service_name="Pulse Oximeter",
            required=("ble-plx-cont",),
        ),
        BleProfile(
            name="ble-plx-spot",
            label="Bluetooth pulse oximeter (spot checks)",
            device_kind="oximeter",
            stale_after_s=3600.0,
            service=PULSE_OXIMETER_SERVICE,
            service_name="Pulse Oximeter",
            required=("ble-plx-spot",),
        ),
    )
}

#: Derived from the profiles: the services a scan looks for, their names, and the protocols that fit each.
SERVICE_NAMES: Final[dict[int, str]] = {p.service: p.service_name for p in PROFILES.values()}
SERVICE_PROTOCOLS: Final[dict[int, tuple[str, ...]]] = {
    service: tuple(p.name for p in PROFILES.values() if p.service == service) for service in SERVICE_NAMES
}
VITALS_SERVICES: Final = tuple(SERVICE_NAMES)
