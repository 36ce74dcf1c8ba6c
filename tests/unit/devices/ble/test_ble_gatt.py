"""GATT decoders from the specification (protocols.md §1): hand-written characteristic values
first, then malformed ones, then hypothesis — random bytes never raise, and what the encoders build
from the same field tables decodes back to the values put in."""

from __future__ import annotations

import calendar
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.ble.driver import BleDriver, profile_info
from devices.ble.gatt import (
    CHARACTERISTICS,
    MMHG_PER_KPA,
    PROFILES,
    SERVICE_PROTOCOLS,
    VITALS_SERVICES,
    GattFormatError,
    SensorContact,
    parse_battery_level,
    parse_blood_pressure,
    parse_device_information_string,
    parse_heart_rate,
    parse_plx_continuous,
    parse_plx_features,
    parse_plx_spot_check,
)
from devices.decoding import REGISTRY, Measurement
from devices.sim import ble_encoders as encoders
from monitor.readings import Flag, Quality

BLE_DECODERS = ("ble-hrs", "ble-bpm", "ble-icp", "ble-plx-spot", "ble-plx-cont")
T_2020_12_10 = float(calendar.timegm((2020, 12, 10, 13, 34, 0, 0, 0, 0)))


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def decode(name: str, *values: str) -> tuple[list[Measurement], object]:
    decoder = REGISTRY[name].factory()
    out: list[Measurement] = []
    for v in values:
        out += decoder.feed(h(v))
    return out, decoder


def by_channel(ms: list[Measurement]) -> dict[str, Measurement]:
    return {m.channel: m for m in ms}


def test_every_ble_decoder_is_registered_for_hex_lines():
    for name in BLE_DECODERS:
        spec = REGISTRY[name]
        assert spec.transport == "ble" and spec.input == "hex-lines"
        assert name in CHARACTERISTICS


def test_each_profile_reads_characteristics_of_its_own_service():
    for profile in PROFILES.values():
        for name in profile.required + profile.optional:
            assert CHARACTERISTICS[name].service == profile.service, (profile.name, name)


def test_the_scan_offers_what_fits_each_advertised_service_continuous_oximetry_first():
    # Service UUIDs from the Bluetooth Assigned Numbers (protocols.md §1).
    assert set(VITALS_SERVICES) == {0x180D, 0x1810, 0x1822}
    assert SERVICE_PROTOCOLS[0x180D] == ("ble-hrs",)
    assert SERVICE_PROTOCOLS[0x1810] == ("ble-bpm",)
    assert SERVICE_PROTOCOLS[0x1822] == ("ble-plx-cont", "ble-plx-spot")


def test_a_cuff_is_no_data_only_after_an_hour_of_silence_a_strap_after_ten_seconds():
    cuff = profile_info("ble-bpm", "ble:AA")
    assert (cuff.kind, cuff.stale_after_s, cuff.label) == ("nibp", 3600.0, "Bluetooth blood-pressure cuff")
    strap = profile_info("ble-hrs", "ble:BB", label="Bed 2 strap")
    assert (strap.kind, strap.stale_after_s, strap.label) == ("hr-strap", 10.0, "Bed 2 strap")
    single = BleDriver("CC", REGISTRY["ble-icp"], None, None, None, stale_after_s=5.0)  # type: ignore[arg-type]
    assert (single.info.kind, single.info.stale_after_s) == ("ble", 5.0)


# ---- Heart Rate Measurement 0x2A37 -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("wire", "bpm", "quality", "flags"),
    [
        ("00 48", 72.0, Quality.OK, Flag.NONE),  # u8, contact not supported
        ("06 48", 72.0, Quality.OK, Flag.NONE),  # contact supported and detected
        ("02 48", 72.0, Quality.OK, Flag.NONE),  # bit1 alone means "not supported", not "contact"
        ("04 48", math.nan, Quality.INVALID, Flag.PROBE_OFF),  # supported, no contact
        ("01 2C 01", 300.0, Quality.OK, Flag.NONE),  # 16-bit value
        ("06 00", math.nan, Quality.INVALID, Flag.NO_VALUE),  # 0 bpm while the strap searches
    ],
)
def test_heart_rate_values_and_contact(wire, bpm, quality, flags):
    (m,), _ = decode("ble-hrs", wire)
    assert m.channel == "hr" and m.quality is quality and m.flags == flags
    assert (math.isnan(m.value) and math.isnan(bpm)) or m.value == bpm


def test_heart_rate_energy_and_rr_intervals_in_1024ths_of_a_second():
    rec = parse_heart_rate(h("1E 48 10 00 00 04 00 02 CD 03"))
    assert rec.bpm == 72 and rec.contact is SensorContact.CONTACT and rec.energy_kj == 16
    assert rec.rr_s == (1.0, 0.5, 0x03CD / 1024)


@pytest.mark.parametrize(
    "wire",
    [
        "",  # empty
        "01 48",  # 16-bit flag, one byte
        "08 48 10",  # energy flag, truncated energy
        "10 48",  # RR flag with no RR bytes
        "10 48 00 04 00",  # odd number of RR bytes
        "00 48 00",  # trailing byte
        "20 48",  # reserved flag bit
    ],
)
def test_malformed_heart_rate_is_a_counted_rejection(wire):
    out, dec = decode("ble-hrs", wire)
    assert out == [] and dec.stats.rejected == 1 and dec.stats.frames == 0 and dec.stats.notes


def test_bumble_heart_rate_encoder_agrees_with_our_parser():
    from bumble.profiles.heart_rate_service import HeartRateService

    for hr in (HeartRateService.HeartRateMeasurement(72, True, 5, [0.5, 1.0]), HeartRateService.HeartRateMeasurement(400, None)):
        rec = parse_heart_rate(bytes(hr))
        assert rec.bpm == hr.heart_rate and rec.energy_kj == hr.energy_expended
        assert rec.rr_s == tuple(hr.rr_intervals or ())
        assert rec.contact is (SensorContact.CONTACT if hr.sensor_contact_detected else SensorContact.NOT_SUPPORTED)


# ---- Blood Pressure Measurement 0x2A35 / Intermediate Cuff Pressure 0x2A36 -----------------------
def test_blood_pressure_in_mmhg():
    ms, _ = decode("ble-bpm", "00 78 00 50 00 5D 00")
    got = by_channel(ms)
    assert [got[c].value for c in ("nibp_sys", "nibp_dia", "nibp_map")] == [120.0, 80.0, 93.0]
    assert set(got) == {"nibp_sys", "nibp_dia", "nibp_map"} and all(m.quality is Quality.OK and m.device_t is None for m in ms)


def test_blood_pressure_in_kpa_is_converted_to_mmhg():
    # 16.0 kPa (160 × 10^-1 = A0 F0), 10.7 kPa (6B F0), 12.4 kPa (7C F0)
    got = by_channel(decode("ble-bpm", "01 A0 F0 6B F0 7C F0")[0])
    assert got["nibp_sys"].value == pytest.approx(16.0 * MMHG_PER_KPA) == pytest.approx(120.0, abs=0.1)
    assert got["nibp_dia"].value == pytest.approx(10.7 * MMHG_PER_KPA)
    assert got["nibp_map"].value == pytest.approx(12.4 * MMHG_PER_KPA)


def test_blood_pressure_with_every_optional_field():
    # flags 1E: timestamp 2020-12-10 13:34:00, pulse 72, user 1, status = body movement
    ms, _ = decode("ble-bpm", "1E 78 00 50 00 5D 00 E4 07 0C 0A 0D 22 00 48 00 01 01 00")
    got = by_channel(ms)
    assert got["pr"].value == 72.0
    assert all(m.device_t == T_2020_12_10 for m in ms)  # the cuff's own time, kept beside the receive time
    assert all(m.quality is Quality.QUESTIONABLE and m.flags == Flag.ARTEFACT for m in ms)
    rec = parse_blood_pressure(h("1E 78 00 50 00 5D 00 E4 07 0C 0A 0D 22 00 48 00 01 01 00"))
    assert rec.user_id == 1 and rec.status == 1


def test_loose_cuff_is_a_sensor_fault_and_unknown_time_has_no_device_time():
    ms, _ = decode("ble-bpm", "12 78 00 50 00 5D 00 00 00 00 00 00 00 00 02 00")
    assert all(m.quality is Quality.QUESTIONABLE and m.flags == Flag.SENSOR_FAULT and m.device_t is None for m in ms)


@pytest.mark.parametrize("special", ["FF 07", "00 08", "01 08", "FE 07", "02 08"])
def test_special_sfloat_pressure_is_invalid_never_a_number(special):
    ms, dec = decode("ble-bpm", f"04 {special} 50 00 5D 00 {special}")
    got = by_channel(ms)
    for channel in ("nibp_sys", "pr"):
        assert got[channel].quality is Quality.INVALID and math.isnan(got[channel].value)
        assert Flag.NO_VALUE in got[channel].flags
    assert got["nibp_dia"].value == 80.0 and got["nibp_dia"].quality is Quality.OK
    assert dec.stats.frames == 1 and "special SFLOAT" in dec.stats.notes[-1]


def test_special_sfloat_in_kpa_stays_invalid():
    got = by_channel(decode("ble-bpm", "01 FE 07 6B F0 7C F0")[0])
    assert got["nibp_sys"].quality is Quality.INVALID and math.isnan(got["nibp_sys"].value)


@pytest.mark.parametrize(
    "wire",
    [
        "00 78 00 50 00 5D",  # 6 bytes: below the 7-byte minimum
        "02 78 00 50 00 5D 00 E4 07 0C",  # timestamp flag, timestamp cut short
        "04 78 00 50 00 5D 00",  # pulse-rate flag, no pulse rate
        "10 78 00 50 00 5D 00 01",  # status flag, one status byte
        "00 78 00 50 00 5D 00 00",  # trailing byte
        "80 78 00 50 00 5D 00",  # reserved flag bit
    ],
)
def test_malformed_blood_pressure_is_rejected(wire):
    out, dec = decode("ble-bpm", wire)
    assert out == [] and dec.stats.rejected == 1


def test_intermediate_cuff_pressure_is_the_live_cuff_channel():
    (m,), _ = decode("ble-icp", "00 3C 00 FF 07 FF 07")  # 60 mmHg, unused fields NaN as devices send them
    assert m.channel == "cuff" and m.value == 60.0 and m.quality is Quality.OK
    (m,), _ = decode("ble-icp", "01 50 F0 00 00 00 00")  # 8.0 kPa, unused fields 0
    assert m.value == pytest.approx(8.0 * MMHG_PER_KPA)


# ---- PLX 0x2A5F / 0x2A5E / 0x2A60 ----------------------------------------------------------------
def test_plx_continuous_minimal():
    got = by_channel(decode("ble-plx-cont", "00 62 00 48 00")[0])
    assert got["spo2"].value == 98.0 and got["pr"].value == 72.0 and got["spo2"].quality is Quality.OK


def test_plx_continuous_with_every_optional_field():
    wire = "1F 62 00 48 00 61 00 49 00 60 00 47 00 A0 00 00 00 00 2D F0"
    rec = parse_plx_continuous(h(wire))
    assert (rec.spo2, rec.pr, rec.fast, rec.slow) == (98.0, 72.0, (97.0, 73.0), (96.0, 71.0))
    assert rec.measurement_status == 0x00A0 and rec.sensor_status == 0 and rec.pai == 4.5
    assert all(m.quality is Quality.OK for m in decode("ble-plx-cont", wire)[0])


@pytest.mark.parametrize(
    ("sensor_status", "quality", "flag"),
    [
        ("00 80 00", Quality.INVALID, Flag.PROBE_OFF),  # bit 15 sensor disconnected
        ("00 08 00", Quality.INVALID, Flag.PROBE_OFF),  # bit 11 sensor unconnected to user
        ("02 00 00", Quality.INVALID, Flag.SENSOR_FAULT),  # bit 1 equipment malfunction
        ("20 00 00", Quality.QUESTIONABLE, Flag.LOW_PERFUSION),  # bit 5
        ("40 00 00", Quality.QUESTIONABLE, Flag.ARTEFACT),  # bit 6 erratic signal
        ("00 00 01", Quality.OK, Flag.NONE),  # bit 16: RFU, ignored
    ],
)
def test_plx_device_and_sensor_status_sets_quality(sensor_status, quality, flag):
    ms, _ = decode("ble-plx-cont", f"08 62 00 48 00 {sensor_status}")
    assert all(m.quality is quality and m.flags == flag for m in ms)
    assert all(math.isnan(m.value) for m in ms) == (quality is Quality.INVALID)


def test_plx_measurement_status_invalid_questionable_and_demo_data():
    assert all(m.quality is Quality.INVALID for m in decode("ble-plx-cont", "04 62 00 48 00 00 80")[0])
    assert all(m.quality is Quality.QUESTIONABLE for m in decode("ble-plx-cont", "04 62 00 48 00 00 40")[0])
    out, dec = decode("ble-plx-cont", "04 62 00 48 00 00 04")  # bit 10 demonstration: never patient data
    assert out == [] and dec.stats.frames == 1 and "demonstration" in dec.stats.notes[-1]


def test_plx_special_sfloat_is_invalid():
    got = by_channel(decode("ble-plx-cont", "00 FF 07 48 00")[0])
    assert got["spo2"].quality is Quality.INVALID and math.isnan(got["spo2"].value) and got["pr"].value == 72.0


def test_plx_spot_check_flags_differ_from_continuous():
    ms, _ = decode("ble-plx-spot", "01 61 00 4A 00 E4 07 0C 0A 0D 22 00")  # bit0 = timestamp here
    got = by_channel(ms)
    assert got["spo2"].value == 97.0 and got["pr"].value == 74.0 and got["spo2"].device_t == T_2020_12_10
    ms, _ = decode("ble-plx-spot", "11 61 00 4A 00 E4 07 0C 0A 0D 22 00")  # bit4: the device clock is not set
    assert all(m.device_t is None for m in ms)
    rec = parse_plx_spot_check(h("0E 61 00 4A 00 A0 00 20 00 00 2D F0"))
    assert (rec.measurement_status, rec.sensor_status, rec.pai, rec.timestamp) == (0xA0, 0x20, 4.5, None)


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("ble-plx-cont", "00 62 00 48"),  # PR cut short
        ("ble-plx-cont", "01 62 00 48 00 61 00"),  # fast flag, half the fast values
        ("ble-plx-cont", "08 62 00 48 00 00 80"),  # u24 sensor status cut short
        ("ble-plx-cont", "00 62 00 48 00 00"),  # trailing byte
        ("ble-plx-cont", "20 62 00 48 00"),  # reserved flag bit
        ("ble-plx-spot", "01 61 00 4A 00 E4 07"),  # timestamp cut short
        ("ble-plx-spot", "40 61 00 4A 00"),  # reserved flag bit
    ],
)
def test_malformed_plx_is_rejected(name, wire):
    out, dec = decode(name, wire)
    assert out == [] and dec.stats.rejected == 1


def test_plx_features_battery_and_device_information():
    f = parse_plx_features(h("03 00 E0 FF FF FF 00"))
    assert (f.features, f.measurement_status_support, f.sensor_status_support) == (3, 0xFFE0, 0x00FFFF)
    assert parse_plx_features(h("00 00")).measurement_status_support is None
    assert parse_battery_level(h("57")) == 87
    for bad in ("01 00", "03 00 E0 FF"):
        with pytest.raises(GattFormatError):
            parse_plx_features(h(bad))
    for bad in ("", "65", "50 00"):
        with pytest.raises(GattFormatError):
            parse_battery_level(h(bad))
    assert parse_device_information_string(b"Acme Medical\x00\x00") == "Acme Medical"
    assert parse_device_information_string(b"Nonin\xff") == "Nonin\ufffd"


# ---- properties ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BLE_DECODERS)
@given(data=st.binary(max_size=40))
def test_random_bytes_never_raise_and_never_fake_a_number(name, data):
    decoder = REGISTRY[name].factory()
    out = decoder.feed(data)
    assert decoder.stats.frames + decoder.stats.rejected == 1
    for m in out:
        assert math.isnan(m.value) == (m.quality is Quality.INVALID)


pressures = st.integers(0, 300).map(float) | st.integers(0, 2047).map(lambda x: x / 10)  # what an SFLOAT holds exactly
timestamps = st.none() | st.integers(946684800, 4102444799).map(float)


@given(
    bpm=st.integers(0, 0xFFFF),
    contact=st.sampled_from([None, True, False]),
    energy=st.none() | st.integers(0, 0xFFFF),
    rr=st.lists(st.integers(1, 0xFFFF).map(lambda x: x / 1024), max_size=4),
)
def test_heart_rate_round_trip(bpm, contact, energy, rr):
    rec = parse_heart_rate(encoders.heart_rate(bpm, contact=contact, energy_kj=energy, rr_s=rr))
    assert (rec.bpm, rec.energy_kj, rec.rr_s) == (bpm, energy, tuple(rr))
    assert (
        rec.contact is {None: SensorContact.NOT_SUPPORTED, True: SensorContact.CONTACT, False: SensorContact.NO_CONTACT}[contact]
    )


@given(
    sys=pressures,
    dia=pressures,
    mean=pressures,
    kpa=st.booleans(),
    ts=timestamps,
    pr=st.none() | st.integers(20, 250).map(float),
    user=st.none() | st.integers(0, 255),
    status=st.none() | st.integers(0, 0x3F),
)
def test_blood_pressure_round_trip(sys, dia, mean, kpa, ts, pr, user, status):
    wire = encoders.blood_pressure(sys, dia, mean, kpa=kpa, timestamp=ts, pulse_rate=pr, user_id=user, status=status)
    rec = parse_blood_pressure(wire)
    tol = 0.05 * MMHG_PER_KPA if kpa else 1e-9  # kPa goes over the wire at 0.1 kPa resolution at most
    assert rec.systolic == pytest.approx(sys, abs=tol) and rec.diastolic == pytest.approx(dia, abs=tol)
    assert rec.mean == pytest.approx(mean, abs=tol) and rec.kpa is kpa
    assert (rec.timestamp.epoch if rec.timestamp else None) == ts
    assert (rec.pulse_rate, rec.user_id, rec.status) == (pr, user, status)
    ms = REGISTRY["ble-bpm"].factory().feed(wire)
    assert all(m.device_t == ts for m in ms)


sat = st.integers(0, 100).map(float)
rate = st.integers(0, 300).map(float)


@given(
    spo2=sat,
    pr=rate,
    fast=st.none() | st.tuples(sat, rate),
    slow=st.none() | st.tuples(sat, rate),
    ms=st.none() | st.integers(0, 0xFFFF),
    ss=st.none() | st.integers(0, 0xFFFFFF),
    pai=st.none() | st.integers(0, 200).map(lambda x: x / 10),
)
def test_plx_continuous_round_trip(spo2, pr, fast, slow, ms, ss, pai):
    rec = parse_plx_continuous(
        encoders.plx_continuous(spo2, pr, fast=fast, slow=slow, measurement_status=ms, sensor_status=ss, pai=pai)
    )
    assert (rec.spo2, rec.pr, rec.fast, rec.slow, rec.measurement_status, rec.sensor_status) == (spo2, pr, fast, slow, ms, ss)
    assert rec.pai == (pytest.approx(pai) if pai is not None else None)


@given(
    spo2=sat,
    pr=rate,
    ts=timestamps,
    ms=st.none() | st.integers(0, 0xFFFF),
    ss=st.none() | st.integers(0, 0xFFFFFF),
    no_clock=st.booleans(),
)
def test_plx_spot_check_round_trip(spo2, pr, ts, ms, ss, no_clock):
    wire = encoders.plx_spot_check(spo2, pr, timestamp=ts, measurement_status=ms, sensor_status=ss, clock_not_set=no_clock)
    rec = parse_plx_spot_check(wire)
    assert (rec.spo2, rec.pr, rec.measurement_status, rec.sensor_status, rec.clock_not_set) == (spo2, pr, ms, ss, no_clock)
    assert (rec.timestamp.epoch if rec.timestamp else None) == ts
