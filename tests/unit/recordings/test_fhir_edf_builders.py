"""The FHIR and EDF+ builders on hand-made data: gaps, INVALID readings, unpaired cuff values."""

from __future__ import annotations

from datetime import UTC

import numpy as np
import pyedflib
import pytest
from fhir.resources.R4B.bundle import Bundle

from monitor.events import EventKind, SessionEvent
from monitor.readings import Flag, Quality, Reading, WaveformBlock
from monitor.session import DosingProtocol
from recordings.atomic import ExportWriteError
from recordings.edf_export import GAP_DIGITAL, write_edf
from recordings.fhir_export import bundle_from
from recordings.reader import DeviceRecord, SessionRecord

T = 1_800_000_000.0
OX, CUFF = "sim:oximeter", "sim:cuff"


def session(t0: float | None = T + 10) -> SessionRecord:
    return SessionRecord(7, "PT_007", DosingProtocol.KETAMINE_IV, "Nurse Test", T, t0, T + 100, "ended", 1.0, "test", T)


DEVICES = {OX: DeviceRecord(1, OX, "Oximeter", "oximeter", 10.0), CUFF: DeviceRecord(2, CUFF, "Cuff", "nibp", 600.0)}


def test_fhir_bundle_pairs_cuff_cycles_omits_invalid_and_validates():
    rs = [
        Reading(OX, "spo2", T + 1, 97.0),
        Reading.invalid(OX, "spo2", T + 2, Flag.PROBE_OFF),
        Reading(OX, "spo2", T + 3, 91.0, Quality.QUESTIONABLE, Flag.ARTEFACT),
        Reading(CUFF, "nibp_sys", T + 20, 150.0),
        Reading(CUFF, "nibp_dia", T + 20, 95.0),
        Reading(CUFF, "nibp_map", T + 20, 113.0),
        Reading(CUFF, "nibp_sys", T + 40, 140.0),  # its diastolic was lost
        Reading(CUFF, "cuff", T + 19, 160.0),  # live cuff pressure: no LOINC, not exported
    ]
    doc = bundle_from(session(), DEVICES, rs)
    bundle = Bundle.model_validate(doc)
    codes = [e.resource.code.coding[0].code for e in bundle.entry]
    assert codes == ["59408-5", "59408-5", "8478-0", "85354-9", "8480-6"]
    panel = bundle.entry[3].resource
    assert [(c.code.coding[0].code, c.valueQuantity.value) for c in panel.component] == [("8480-6", 150.0), ("8462-4", 95.0)]
    assert bundle.entry[1].resource.note[0].text == "questionable: ARTEFACT"
    assert bundle.entry[0].resource.device.display == "Oximeter"
    assert bundle.entry[0].resource.subject.identifier.value == "PT_007"
    assert len({e.fullUrl for e in bundle.entry}) == len(bundle.entry)
    assert bundle_from(session(), DEVICES, rs) == doc  # stable ids: the same session exports the same


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
        i = labels.index("spo2")
        d, v = f.readSignal(i, digital=True), f.readSignal(i)
        res = (f.getPhysicalMaximum(i) - f.getPhysicalMinimum(i)) / 65535
        assert all(abs(v[k] - (95.0 + (k % 3))) <= res for k in range(10))
        assert d[10] == GAP_DIGITAL  # INVALID
        assert d[11] == GAP_DIGITAL and d[19] == GAP_DIGITAL  # silence: not filled beyond one second
        assert abs(v[24] - 90.5) <= res
        s = labels.index("nibp_sys")
        ds, vs = f.readSignal(s, digital=True), f.readSignal(s)
        assert ds[4] == GAP_DIGITAL and all(abs(x - 130) < 0.01 for x in vs[5:25])  # held until the next cycle
        p = labels.index("pleth")
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
