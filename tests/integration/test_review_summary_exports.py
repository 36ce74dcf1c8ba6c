"""Prescriber review on recorded scenarios with known answers: the summary figures, and each export
format read back by an independent reader (csv module, fhir.resources, pyedflib)."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from app.cli import main as cli_main
from monitor import observations as obs
from monitor.session import DosingProtocol
from recordings.database import open_database
from recordings.export import export_session
from recordings.summarize import summarize_session
from tests.simulated_session import record_scenario as record_simulated

pytestmark = pytest.mark.slow

SPEED = 600.0
POST_DOSE_MIN = 60.0


def record_scenario(db_url: str, scenario_name: str, post_dose_min: float = POST_DOSE_MIN) -> None:
    """Run a simulated scenario through the real pipeline into ``db_url``, with a MOAA/S and a CADSS."""

    def observe(pipeline, dose_at: float) -> None:
        pipeline.core.record_observation(obs.moaas(dose_at + 30 * 60, "Test nurse", 3))
        pipeline.core.record_observation(obs.cadss(dose_at + 30 * 60, "Test nurse", [2] * 8 + [0] * 15))

    record_simulated(db_url, scenario_name, post_dose_min, patient_id="SIM-REV-1", protocol=DosingProtocol.KETAMINE_IV,
                     seed=5, speed=SPEED, steps=[(30, observe)])  # fmt: skip


@pytest.fixture(scope="module")
def hypertensive(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('hyper') / 'session.db'}"
    record_scenario(url, "hypertensive-responder")
    return url


@pytest.fixture(scope="module")
def respiratory(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('resp') / 'session.db'}"
    record_scenario(url, "respiratory-depression")
    return url


def _load(url: str):
    db = open_database(url)
    try:
        return summarize_session(db, "latest"), export_session(db, "latest")
    finally:
        db.close()


# ---- summary ------------------------------------------------------------------------------------


def test_hypertensive_responder_sbp_peak_and_minute_match_the_cuff_readings(hypertensive):
    s, doc = _load(hypertensive)
    cuff = [(r["minutes_from_t0"], r["value"]) for r in doc["readings"] if r["channel"] == "nibp_sys" and r["value"] is not None]
    post = [(m, v) for m, v in cuff if m >= 0]
    peak_value = max(v for _, v in post)
    peak_minute = min(m for m, v in post if v == peak_value)
    assert s.peak_sbp is not None
    assert s.peak_sbp.value == peak_value and s.peak_sbp.minute == pytest.approx(peak_minute)
    assert peak_value > 180 and 30 <= peak_minute <= 50  # the scenario: > 180 mmHg about 40 min after the dose
    assert s.baseline["nibp_sys"] == max(((m, v) for m, v in cuff if m < 0), key=lambda mv: mv[0])[1]
    assert s.peak_delta_sbp == pytest.approx(peak_value - s.baseline["nibp_sys"])
    dia = [
        v
        for r in doc["readings"]
        if r["channel"] == "nibp_dia" and r["value"] is not None and r["minutes_from_t0"] >= 0
        for v in [r["value"]]
    ]
    assert s.peak_dbp.value == max(dia) and s.peak_dbp.value > 110
    assert s.alarms_by_priority["MEDIUM"] + s.alarms_by_priority["HIGH"] >= 1  # severe hypertension alarm
    assert s.lowest_moaas.value == 3 and s.lowest_moaas.minute == pytest.approx(30)
    assert s.peak_cadss.value == 16
    assert s.observation_min == pytest.approx(POST_DOSE_MIN, abs=0.5)


def test_json_export_carries_the_summary(hypertensive):
    s, doc = _load(hypertensive)
    assert doc["summary"] == json.loads(json.dumps(s.record()))  # the same figures, as plain JSON
    assert doc["summary"]["peak_sbp"]["value"] == s.peak_sbp.value and doc["summary"]["peak_delta_sbp"] > 0


def test_respiratory_depression_minutes_below_93_match_an_independent_count(respiratory):
    s, doc = _load(respiratory)
    spo2 = [r for r in doc["readings"] if r["channel"] == "spo2" and r["minutes_from_t0"] >= 0]
    sources = {r["source"] for r in spo2}
    assert len(sources) == 1
    # independent: count the 1 Hz samples below the threshold, one second each
    below_93 = sum(1 for r in spo2 if r["value"] is not None and r["value"] < 93) / 60.0
    at_or_below_90 = sum(1 for r in spo2 if r["value"] is not None and r["value"] <= 90) / 60.0
    assert below_93 > 10  # the scenario: ~86 % nadir, under 90 % for about 12 min
    assert s.spo2_below_93_min == pytest.approx(below_93, rel=0.03, abs=0.1)
    assert s.spo2_at_or_below_90_min == pytest.approx(at_or_below_90, rel=0.03, abs=0.1)
    low = min(r["value"] for r in spo2 if r["value"] is not None)
    assert s.min_spo2.value == low and 20 <= s.min_spo2.minute <= 45
    assert s.alarms_by_priority["HIGH"] >= 1  # SpO2 ≤ 90


# ---- exports ------------------------------------------------------------------------------------


def test_csv_export_reads_back_with_the_csv_module(hypertensive, tmp_path):
    out = tmp_path / "s.csv"
    assert cli_main(["export", "--db", hypertensive, "--format", "csv", "--output", str(out)]) == 0
    _, doc = _load(hypertensive)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0].keys()) == ["time", "minutes_from_t0", "channel", "value", "unit", "quality", "source", "flags"]
    readings = [r for r in rows if not r["source"].startswith("observation:")]
    assert len(readings) == len(doc["readings"])
    by_key = {(r["source"], r["channel"], r["time"]): r for r in readings}
    for r in doc["readings"]:
        row = by_key[(r["source"], r["channel"], r["time"])]
        assert row["unit"] == r["unit"] and row["quality"] == r["quality"]
        if r["value"] is None:
            assert row["value"] == ""
        else:
            assert float(row["value"]) == r["value"]
        assert float(row["minutes_from_t0"]) == pytest.approx(r["minutes_from_t0"], abs=1e-4)
    units = {r["channel"]: r["unit"] for r in readings}
    assert units["spo2"] == "%" and units["nibp_sys"] == "mm[Hg]" and units["pr"] == "/min"
    scores = {r["channel"]: r for r in rows if r["source"].startswith("observation:")}
    assert scores["moaas"]["value"] == "3" and scores["cadss_total"]["value"] == "16"
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)


def test_fhir_export_validates_as_r4_bundle(hypertensive, tmp_path):
    from fhir.resources.R4B.bundle import Bundle

    out = tmp_path / "s.fhir.json"
    assert cli_main(["export", "--db", hypertensive, "--format", "fhir", "--output", str(out)]) == 0
    raw = json.loads(out.read_text(encoding="utf-8"))
    bundle = Bundle.model_validate(raw)
    assert bundle.type == "collection"
    _, doc = _load(hypertensive)
    resources = [e.resource for e in bundle.entry]
    assert all(r.get_resource_type() == "Observation" for r in resources)
    assert all(r.category[0].coding[0].code == "vital-signs" for r in resources)
    assert all(r.subject.identifier.value == "SIM-REV-1" and r.subject.reference is None for r in resources)
    panels = [r for r in resources if r.code.coding[0].code == "85354-9"]
    cuff_cycles = {(r["source"], r["t"]) for r in doc["readings"] if r["channel"] == "nibp_sys" and r["value"] is not None}
    assert len(panels) == len(cuff_cycles) > 5
    peak = max(panels, key=lambda p: p.component[0].valueQuantity.value)
    assert [c.code.coding[0].code for c in peak.component] == ["8480-6", "8462-4", "8478-0"]  # MAP in the panel
    assert {c.valueQuantity.code for c in peak.component} == {"mm[Hg]"}
    assert peak.component[0].valueQuantity.value > 180
    spo2 = [r for r in resources if r.code.coding[0].code == "59408-5"]
    assert spo2 and {c.code for c in spo2[0].code.coding} == {"59408-5", "2708-6", "150456"}
    assert spo2[0].valueSampledData.origin.system == "http://unitsofmeasure.org"
    assert spo2[0].valueSampledData.origin.code == "%" and spo2[0].valueSampledData.period == 1000
    samples = [float(x) for r in spo2 for x in r.valueSampledData.data.split(" ") if x != "E"]
    valid_spo2 = [r for r in doc["readings"] if r["channel"] == "spo2" and r["value"] is not None]
    assert len(samples) >= 0.95 * len(valid_spo2)  # a second with two readings keeps the later one
    assert len(spo2) <= math.ceil(len(valid_spo2) / 300) + 1  # 5-min windows, not one resource per second
    pr = [r for r in resources if r.code.coding[0].code == "8889-8"]
    assert pr and pr[0].valueSampledData.origin.code == "/min" and pr[0].device.identifier.value
    assert not [r for r in resources if r.code.coding[0].code == "8867-4"]  # the simulation has no ECG
    assert len(resources) < 200
    first = raw["entry"][0]["resource"]
    assert (first.get("effectiveDateTime") or first["effectivePeriod"]["start"]).endswith("Z")


def test_edf_export_reads_back_with_pyedflib(hypertensive, tmp_path):
    import pyedflib

    from recordings.edf_export import GAP_DIGITAL

    out = tmp_path / "s.edf"
    assert cli_main(["export", "--db", hypertensive, "--format", "edf", "--output", str(out)]) == 0
    _, doc = _load(hypertensive)
    with pyedflib.EdfReader(str(out)) as f:
        labels = f.getSignalLabels()
        assert {"SpO2", "PR", "NIBP sys", "NIBP dia", "NIBP mean", "Pleth"} <= set(labels)
        assert not [x for x in labels if "#" in x or "_" in x]
        assert f.getPatientCode() == "SIM-REV-1"
        start = f.getStartdatetime().replace(tzinfo=__import__("datetime").timezone.utc).timestamp()
        i_spo2, i_pleth, i_sys = labels.index("SpO2"), labels.index("Pleth"), labels.index("NIBP sys")
        assert f.getSampleFrequency(i_spo2) == 1 and f.getSampleFrequency(i_pleth) == 75
        assert f.getPhysicalDimension(i_sys) == "mmHg" and f.getPhysicalDimension(i_pleth) == "a.u."
        spo2 = f.readSignal(i_spo2)
        spo2_digital = f.readSignal(i_spo2, digital=True)
        resolution = (f.getPhysicalMaximum(i_spo2) - f.getPhysicalMinimum(i_spo2)) / 65535
        checked = 0
        for r in doc["readings"]:
            if r["channel"] == "spo2" and r["value"] is not None:
                i = math.floor(r["t"] - start)
                if abs(spo2[i] - r["value"]) <= resolution:
                    checked += 1
        n_spo2 = sum(1 for r in doc["readings"] if r["channel"] == "spo2" and r["value"] is not None)
        assert checked >= 0.95 * n_spo2  # a second with two readings keeps the later one
        gaps = spo2_digital == GAP_DIGITAL
        assert np.all(spo2[~gaps] > f.getPhysicalMinimum(i_spo2))
        sys_vals = f.readSignal(i_sys)
        peak = max(r["value"] for r in doc["readings"] if r["channel"] == "nibp_sys" and r["value"] is not None)
        assert abs(sys_vals.max() - peak) <= (f.getPhysicalMaximum(i_sys) - f.getPhysicalMinimum(i_sys)) / 65535
        pleth_n = sum(len(w["samples"]) for w in doc["waveforms"] if w["channel"] == "pleth")
        pleth_digital = f.readSignal(i_pleth, digital=True)
        assert np.count_nonzero(pleth_digital != GAP_DIGITAL) >= 0.99 * pleth_n - 75
        onsets, _, texts = f.readAnnotations()
        assert "t0 dose" in texts and "MOAA/S 3" in texts
        assert any(t.startswith("NIBP ") for t in texts) and any(t.startswith("alarm raised") for t in texts)
        dose_onset = onsets[list(texts).index("t0 dose")]
        assert start + dose_onset == pytest.approx(doc["session"]["t0_utc"], abs=0.01)


@pytest.mark.parametrize("fmt", ["csv", "fhir", "edf", "json", "pdf"])
def test_unwritable_output_is_a_clear_message_and_leaves_nothing(hypertensive, tmp_path, fmt, capsys, qapp):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    target = not_a_folder / f"s.{fmt}"  # its "folder" is a file: unwritable even for root
    assert cli_main(["export", "--db", hypertensive, "--format", fmt, "--output", str(target)]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and str(target) in err and "--output" in err
    assert list(tmp_path.iterdir()) == [not_a_folder]


def test_unwritable_folder_leaves_nothing_half_written(hypertensive, tmp_path, capsys):
    import os

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: the folder stays writable")
        assert cli_main(["export", "--db", hypertensive, "--format", "edf", "--output", str(folder / "s.edf")]) == 1
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)
    assert "cannot write" in capsys.readouterr().err


def test_failed_export_keeps_the_previous_file(hypertensive, tmp_path, capsys):
    target = tmp_path / "s.csv"
    target.write_text("previous\n")
    assert (
        cli_main(["export", "--db", hypertensive, "--session", "999", "--format", "csv", "--output", str(target), "--force"]) == 1
    )
    assert target.read_text() == "previous\n" and list(tmp_path.iterdir()) == [target]
    assert "no session 999" in capsys.readouterr().err


def test_edf_needs_an_output_file(hypertensive, capsys):
    assert cli_main(["export", "--db", hypertensive, "--format", "edf"]) == 2
    assert "--output" in capsys.readouterr().err


def test_csv_to_stdout(hypertensive, capsys):
    assert cli_main(["export", "--db", hypertensive, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][0] == "time" and len(rows) > 1000
