"""The FHIR and EDF+ builders on hand-made data: gaps, INVALID readings, unpaired cuff values."""

from __future__ import annotations

import json
from datetime import UTC

import numpy as np
import pyedflib
import pytest
from fhir.resources.R4B.bundle import Bundle

from monitor.events import EventKind, SessionEvent
from monitor.readings import Flag, Quality, Reading, WaveformBlock
from monitor.session import DosingProtocol
from recordings.atomic import ExportWriteError
from recordings.edf_export import DIMENSION_MAX, EDF_LABELS, GAP_DIGITAL, LABEL_MAX, write_edf
from recordings.fhir_export import WINDOW_S, bundle_from
from recordings.reader import DeviceRecord, SessionRecord

T = 1_800_000_000.0
OX, CUFF, MANUAL = "sim:oximeter", "sim:cuff", "manual"


def session(t0: float | None = T + 10) -> SessionRecord:
    return SessionRecord(7, "PT_007", DosingProtocol.KETAMINE_IV, "Nurse Test", T, t0, T + 100, "ended", 1.0, "test", T)


DEVICES = {
    OX: DeviceRecord(1, OX, "Oximeter", "oximeter", 10.0),
    CUFF: DeviceRecord(2, CUFF, "Cuff", "nibp", 600.0),
    MANUAL: DeviceRecord(3, MANUAL, "Manual entry", "manual", 86400.0),
}


def test_fhir_bundle_pairs_cuff_cycles_keeps_spot_values_and_validates():
    rs = [
        Reading(CUFF, "nibp_sys", T + 20, 150.0),
        Reading(CUFF, "nibp_dia", T + 20, 95.0),
        Reading(CUFF, "nibp_map", T + 20, 113.0),
        Reading(CUFF, "nibp_sys", T + 40, 140.0),  # its diastolic was lost
        Reading(CUFF, "nibp_map", T + 60, 101.0),  # a mean alone
        Reading(CUFF, "cuff", T + 19, 160.0),  # live cuff pressure: no LOINC, not exported
        Reading(MANUAL, "hr", T + 50, 72.0),  # a manual spot value
        Reading(MANUAL, "nibp_sys", T + 55, 128.0, Quality.QUESTIONABLE, Flag.ARTEFACT),
        Reading(MANUAL, "nibp_dia", T + 55, 84.0),
    ]
    doc = bundle_from(session(), DEVICES, rs)
    bundle = Bundle.model_validate(doc)
    codes = [e.resource.code.coding[0].code for e in bundle.entry]
    assert codes == ["85354-9", "8480-6", "8867-4", "85354-9", "8478-0"]
    panel = bundle.entry[0].resource
    assert [(c.code.coding[0].code, c.valueQuantity.value) for c in panel.component] == [
        ("8480-6", 150.0),
        ("8462-4", 95.0),
        ("8478-0", 113.0),
    ]
    assert {c.valueQuantity.code for c in panel.component} == {"mm[Hg]"}
    manual_hr, manual_bp = bundle.entry[2].resource, bundle.entry[3].resource
    assert manual_hr.valueQuantity.value == 72.0 and manual_hr.device.display == "Manual entry"
    assert manual_hr.effectiveDateTime is not None and manual_hr.valueSampledData is None
    assert [c.valueQuantity.value for c in manual_bp.component] == [128.0, 84.0]
    assert manual_bp.note[0].text == "questionable: ARTEFACT"
    assert panel.device.display == "Cuff" and panel.subject.identifier.value == "PT_007"
    assert len({e.fullUrl for e in bundle.entry}) == len(bundle.entry)
    assert bundle_from(session(), DEVICES, rs) == doc  # stable ids: the same session exports the same


def _oximeter(seconds: int) -> list[Reading]:
    """1 Hz SpO2 and pulse rate with jittered times; SpO2 INVALID at 100 s and silent 200-219 s."""
    rs = []
    for i in range(seconds):
        t = T + i + 0.2 + 0.05 * (i % 3)
        if 200 <= i < 220:
            continue
        rs.append(Reading.invalid(OX, "spo2", t, Flag.PROBE_OFF) if i == 100 else Reading(OX, "spo2", t, 90.0 + i % 7))
        rs.append(Reading(OX, "pr", t, 60.0 + i % 11, Quality.QUESTIONABLE if i == 5 else Quality.OK))
    return rs


def test_fhir_continuous_series_are_sampled_data_windows_with_E_for_missing():
    rs = _oximeter(2 * WINDOW_S + 30)
    bundle = Bundle.model_validate(bundle_from(session(), DEVICES, rs))
    spo2 = [e.resource for e in bundle.entry if e.resource.code.coding[0].code == "59408-5"]
    assert len(spo2) == 3 and len(bundle.entry) == 6  # per channel: two full 5-min windows and the rest
    first = spo2[0].valueSampledData
    assert (first.period, first.factor, first.dimensions) == (1000, 1, 1)
    assert (first.origin.code, first.origin.system, first.origin.value) == ("%", "http://unitsofmeasure.org", 0)
    data = first.data.split(" ")
    assert len(data) == WINDOW_S
    assert data[100] == "E" and all(x == "E" for x in data[200:220])
    assert [float(x) for x in data[:7]] == [90.0, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0]
    assert data.count("E") == 21
    assert spo2[0].effectivePeriod.start.timestamp() == T
    assert spo2[0].effectivePeriod.end.timestamp() == T + WINDOW_S
    assert spo2[1].effectivePeriod.start.timestamp() == T + WINDOW_S
    assert len(spo2[2].valueSampledData.data.split(" ")) == 30
    values = [float(x) for w in spo2 for x in w.valueSampledData.data.split(" ") if x != "E"]
    assert values == [r.value for r in rs if r.channel == "spo2" and r.valid]


def test_fhir_oximeter_pulse_rate_is_loinc_8889_8_not_only_heart_rate():
    bundle = Bundle.model_validate(bundle_from(session(), DEVICES, _oximeter(60)))
    pr = [
        e.resource for e in bundle.entry if e.resource.device.identifier.value == OX and e.resource.code.text.startswith("Pulse")
    ]
    assert len(pr) == 1
    codes = [(c.system, c.code) for c in pr[0].code.coding]
    assert codes[0] == ("http://loinc.org", "8889-8")  # Heart rate by Pulse oximetry
    assert codes[1] == ("http://loinc.org", "8867-4") and pr[0].code.coding[1].display == "Heart rate"  # the R4 profile's code
    assert ("urn:iso:std:iso:11073:10101", "149530") in codes
    assert pr[0].note[0].text == "1 of 60 samples questionable: device flagged the value"


def test_fhir_four_hour_session_is_hundreds_of_resources_not_tens_of_thousands():
    """4 h of 1 Hz SpO2 + pulse rate + RR and a cuff cycle every 5 min: was 43,000 Observations."""
    hours = 4 * 3600
    rs = [Reading(OX, ch, T + i + 0.3, v) for i in range(hours) for ch, v in (("spo2", 97.0), ("pr", 70.0), ("rr", 14.0))]
    for k in range(hours // WINDOW_S):
        t = T + k * WINDOW_S + 0.5
        rs += [Reading(CUFF, "nibp_sys", t, 120.0), Reading(CUFF, "nibp_dia", t, 80.0), Reading(CUFF, "nibp_map", t, 93.0)]
    rs.sort(key=lambda r: r.t)
    doc = bundle_from(session(), DEVICES, rs)
    Bundle.model_validate(doc)
    assert len(doc["entry"]) == 3 * 48 + 48
    size = len(json.dumps(doc, ensure_ascii=False, indent=1).encode())
    assert size < 1_000_000, size


def test_edf_gaps_are_the_sentinel_and_cuff_values_hold(tmp_path):
    rs = [Reading(OX, "spo2", T + i + 0.3, 95.0 + (i % 3)) for i in range(10)]
    rs += [Reading.invalid(OX, "spo2", T + 10.3, Flag.PROBE_OFF)]
    rs += [Reading(OX, "spo2", T + 20.3 + i, 90.5) for i in range(5)]  # 9 s silence before
    rs += [Reading(CUFF, "nibp_sys", T + 5.5, 130.0), Reading(CUFF, "nibp_dia", T + 5.5, 80.0)]
    pleth = np.linspace(0.0, 1.0, 75 * 2)
    pleth[10:20] = np.nan
    blocks = [WaveformBlock(OX, "pleth", T + 1.0, 75.0, pleth)]
    events = [
        SessionEvent(EventKind.DOSE_GIVEN, T + 10, "user:N", {"sets_t0": True}),
        SessionEvent(EventKind.DEVICE_STATUS, T + 11, OX, {"state": "no data"}),
        SessionEvent(EventKind.DEVICE_STATUS, T + 20, OX, {"state": "streaming"}),
        SessionEvent(EventKind.ALARM, T + 21, "alarm", {"transition": "raised", "priority": "MEDIUM", "key": "spo2_low"}),
    ]
    path = tmp_path / "x.edf"
    write_edf(path, session(), rs, blocks, events)
    with pyedflib.EdfReader(str(path)) as f:
        labels = f.getSignalLabels()
        assert f.getStartdatetime().replace(tzinfo=UTC).timestamp() == T
        i = labels.index("SpO2")
        d, v = f.readSignal(i, digital=True), f.readSignal(i)
        res = (f.getPhysicalMaximum(i) - f.getPhysicalMinimum(i)) / 65535
        assert all(abs(v[k] - (95.0 + (k % 3))) <= res for k in range(10))
        assert d[10] == GAP_DIGITAL  # INVALID
        assert d[11] == GAP_DIGITAL and d[19] == GAP_DIGITAL  # silence: not filled beyond one second
        assert abs(v[24] - 90.5) <= res
        s = labels.index("NIBP sys")
        ds, vs = f.readSignal(s, digital=True), f.readSignal(s)
        assert ds[4] == GAP_DIGITAL and all(abs(x - 130) < 0.01 for x in vs[5:25])  # held until the next cycle
        p = labels.index("Pleth")
        dp = f.readSignal(p, digital=True)
        assert f.getSampleFrequency(p) == 75
        assert np.all(dp[:75] == GAP_DIGITAL)  # before the first block
        assert np.all(dp[75 + 10 : 75 + 20] == GAP_DIGITAL) and dp[75 + 20] != GAP_DIGITAL
        onsets, durations, texts = f.readAnnotations()
        ann = dict(zip(texts, zip(onsets, durations, strict=True), strict=True))
        assert ann["t0 dose"][0] == pytest.approx(10)
        assert ann["gap sim:oximeter"] == (pytest.approx(11), pytest.approx(9))
        assert "alarm raised MEDIUM spo2_low" in ann and "NIBP 130/80" in ann
        assert f.getPatientCode() == "PT 007"  # EDF+ writes spaces as '_' and readers show every '_' as a space


def test_edf_of_a_session_without_data_is_refused(tmp_path):
    with pytest.raises(ExportWriteError, match="nothing to write"):
        write_edf(tmp_path / "x.edf", session(), [], [], [])


def test_edf_labels_and_dimensions_follow_edf_plus(tmp_path):
    OX2 = "sim:oximeter2"
    rs = [Reading(src, ch, T + i + 0.3, v) for i in range(5) for src in (OX, OX2) for ch, v in (("spo2", 96.0), ("pr", 70.0))]
    rs += [Reading(CUFF, c, T + 2.5, v) for c, v in (("nibp_sys", 130.0), ("nibp_dia", 80.0), ("nibp_map", 97.0))]
    rs += [Reading(OX, "rr", T + 1.3, 14.0), Reading(OX, "temp", T + 1.3, 36.6)]
    blocks = [WaveformBlock(OX, "pleth", T, 75.0, np.linspace(0.0, 1.0, 75 * 5))]
    path = tmp_path / "x.edf"
    write_edf(path, session(), rs, blocks, [])
    with pyedflib.EdfReader(str(path)) as f:
        got = {(f.getLabel(i), f.getPhysicalDimension(i), f.getTransducer(i)) for i in range(f.signals_in_file)}
    assert got == {
        ("SpO2", "%", "sim:oximeter"),
        ("SpO2 2", "%", "sim:oximeter2"),
        ("PR", "/min", "sim:oximeter"),
        ("PR 2", "/min", "sim:oximeter2"),
        ("NIBP sys", "mmHg", "sim:cuff"),
        ("NIBP dia", "mmHg", "sim:cuff"),
        ("NIBP mean", "mmHg", "sim:cuff"),
        ("RR", "/min", "sim:oximeter"),
        ("Temp", "degC", "sim:oximeter"),
        ("Pleth", "a.u.", "sim:oximeter"),
    }
    raw = path.read_bytes()
    n = int(raw[252:256])
    labels = [raw[256 + 16 * k : 256 + 16 * (k + 1)] for k in range(n)]
    dims = [raw[256 + n * (16 + 80) + 8 * k : 256 + n * (16 + 80) + 8 * (k + 1)] for k in range(n)]
    assert b"SpO2 2          " in labels and b"a.u.    " in dims and b"EDF Annotations " in labels


def test_every_exported_channel_has_an_edf_label_that_fits():
    from monitor.channels import CHANNELS

    assert set(EDF_LABELS) == set(CHANNELS) - {"cuff"}
    assert all(len(x) + 2 <= LABEL_MAX and x.isascii() for x in EDF_LABELS.values())  # room for " 2"
    from recordings.edf_export import EDF_DIMENSIONS

    units = {EDF_DIMENSIONS.get(CHANNELS[c].ucum, CHANNELS[c].ucum) for c in EDF_LABELS}
    assert all(len(u) <= DIMENSION_MAX and u.isascii() for u in units)
