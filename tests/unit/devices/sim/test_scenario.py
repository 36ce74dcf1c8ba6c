"""Scenario files load into validated frozen dataclasses; every bad file is one clear ConfigError."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from devices.sim.scenario import SCENARIO_DIR, VARIABLES, EventKind, Scenario, load_scenario, scenario_names
from monitor.errors import ConfigError

BUNDLED = ["artefacts", "baseline", "hypertensive-responder", "ketamine-typical", "respiratory-depression"]


def test_bundled_scenarios_are_listed_sorted():
    assert scenario_names() == BUNDLED


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_scenario_loads_with_sources_and_all_variables(name):
    s = load_scenario(name)
    assert isinstance(s, Scenario) and s.name == name
    assert s.description and s.sources
    assert set(s.baseline) == set(VARIABLES)
    assert s.nibp.cycle_s == pytest.approx(30.0)
    assert s.demo.dose_after_s > s.nibp.cycle_s  # the dose comes after the first pre-dose cuff reading
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "changed"  # type: ignore[misc]


def test_ketamine_typical_numbers_follow_the_cited_sources():
    s = load_scenario("ketamine-typical")
    assert s.drug["sbp"].peak_delta == pytest.approx(13.0, abs=1)
    assert s.drug["dbp"].peak_delta == pytest.approx(9.0, abs=1)
    assert s.drug["hr"].peak_delta == pytest.approx(4.0, abs=0.5)
    assert s.drug["sbp"].time_to_peak_min == pytest.approx(40.0)
    assert s.drug["sbp"].back_to_baseline_min == pytest.approx(90.0)
    text = (SCENARIO_DIR / "ketamine-typical.toml").read_text()
    assert "+12.6" in text and "+13.3" in text and "clinical.md" in text


def test_scenario_specific_events_are_present():
    resp = load_scenario("respiratory-depression")
    (ev,) = resp.events
    assert ev.kind is EventKind.PHYSIOLOGY and ev.deltas["spo2"] < -8 and ev.deltas["rr"] < 0
    kinds = {e.kind for e in load_scenario("artefacts").events}
    assert kinds == {EventKind.ARTEFACT, EventKind.PROBE_OFF, EventKind.DROPOUT}
    assert load_scenario("baseline").drug == {}


def test_unknown_name_lists_the_known_scenarios():
    with pytest.raises(ConfigError) as err:
        load_scenario("ketamine-atypical")
    assert str(err.value) == f"unknown scenario 'ketamine-atypical'; known scenarios: {', '.join(BUNDLED)}"


def test_a_path_is_loaded_directly(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text((SCENARIO_DIR / "baseline.toml").read_text())
    assert load_scenario(p).name == "mine"
    assert load_scenario(str(p)).path == p
    with pytest.raises(ConfigError, match=r"scenario file not found: .*nope\.toml"):
        load_scenario(tmp_path / "nope.toml")


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (SCENARIO_DIR / "ketamine-typical.toml").read_text()
    assert old in text
    p = tmp_path / "broken.toml"
    p.write_text(text.replace(old, new, 1))
    return p


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ("mean = 124.0", 'mean = "high"', "baseline.sbp.mean", "must be a number"),
        ("interval_min = 5.0", "", "nibp.interval_min", "is missing"),
        ("cycle_s = 30.0", "cycle_s = 400.0", "nibp.cycle_s", "at most 120"),
        ("time_to_peak_min = 40.0", "time_to_peak_min = 95.0", "drug.sbp", "time_to_peak_min < back_to_baseline_min"),
        ("peak_delta = 13.0", "peak_delta = 13.0\npeek_delta = 1.0", "drug.sbp.peek_delta", "is not a known field"),
        ("[drug.hr]", "[drug.temp]", "drug.temp", "is not a known field"),
        ("dose_after_s = 60.0", "dose_after_s = -1.0", "demo.dose_after_s", "at least 0"),
        ("reports_rr = true", 'reports_rr = "yes"', "oximeter.reports_rr", "true or false"),
    ],
)
def test_malformed_file_names_file_and_field(tmp_path, old, new, field, problem):
    p = _broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as err:
        load_scenario(p)
    msg = str(err.value)
    assert str(p) in msg and f"'{field}'" in msg and problem in msg


def test_invalid_toml_names_the_file(tmp_path):
    p = _broken(tmp_path, "[nibp]", "[nibp")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_scenario(p)


def test_bad_events_are_rejected(tmp_path):
    base = (SCENARIO_DIR / "baseline.toml").read_text()
    cases = {
        'kind = "explosion"\nstart_min = 1.0': "events[0].kind",
        'kind = "artefact"\ndevice = "oximeter"\nstart_min = 1.0\nduration_s = 10.0\nvalues = { spo2 = [0.0, 80.0] }': (
            "events[0].values.spo2"
        ),
        'kind = "artefact"\ndevice = "ecg"\nstart_min = 1.0\nduration_s = 10.0': "events[0].device",
        'kind = "probe_off"\ndevice = "oximeter"\nstart_min = 1.0': "events[0].duration_s",
        'kind = "physiology"\nstart_min = 1\nramp_min = 1\nhold_min = 1\nrecover_min = 1\ndeltas = {}': "events[0].deltas",
    }
    for body, field in cases.items():
        p = tmp_path / "ev.toml"
        p.write_text(base + "\n[[events]]\n" + body + "\n")
        with pytest.raises(ConfigError) as err:
            load_scenario(p)
        assert f"'{field}" in str(err.value), (body, str(err.value))
