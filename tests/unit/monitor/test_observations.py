"""Observation builders refuse bad input with a message; amendments never replace the original."""

import pytest

from monitor import observations as ob
from monitor.observations import ObservationError, ObservationLog, ObsKind

T = 1_800_000_000.0


def test_dose_requires_route_and_positive_dose():
    with pytest.raises(ObservationError, match="route"):
        ob.dose(T, "nurse", drug="esketamine", route=None, dose_mg=28)
    with pytest.raises(ObservationError, match="route"):
        ob.dose(T, "nurse", drug="esketamine", route="rectal", dose_mg=28)
    with pytest.raises(ObservationError, match="more than 0"):
        ob.dose(T, "nurse", drug="esketamine", route="intranasal", dose_mg=0)
    d = ob.dose(T, "nurse", drug="esketamine", route="intranasal", dose_mg=28, lot="L1", device=1)
    assert d.data == {"drug": "esketamine", "route": "intranasal", "dose_mg": 28.0, "lot": "L1", "device": 1}


def test_every_entry_needs_an_author():
    with pytest.raises(ObservationError, match="who recorded"):
        ob.moaas(T, "  ", 5)


def test_scores_out_of_range_refused():
    with pytest.raises(ObservationError, match="0 to 5"):
        ob.moaas(T, "n", 7)
    with pytest.raises(ObservationError, match="-5 to"):
        ob.rass(T, "n", 9)
    with pytest.raises(ObservationError, match="23"):
        ob.cadss(T, "n", [0] * 6)


def test_cadss_scores_are_computed():
    o = ob.cadss(T, "n", [2] * 23, baseline_total=10)
    assert o.data["total"] == 46 and o.data["cadss6"] == 12 and o.data["dissociation"]


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"nibp_sys": 80, "nibp_dia": 90}, "higher than diastolic"),
        ({"nibp_sys": 80, "nibp_dia": 80}, "higher than diastolic"),
        ({"nibp_sys": 120}, "both systolic and diastolic"),
        ({"hr": 400}, "outside the accepted range"),
        ({"spo2": 101}, "outside the accepted range"),
        ({}, "at least one value"),
    ],
)
def test_manual_vitals_validation(values, match):
    with pytest.raises(ObservationError, match=match):
        ob.manual_vitals(T, "n", values)


def test_adverse_event_other_needs_text_and_onset_not_after_record():
    with pytest.raises(ObservationError, match="Other"):
        ob.adverse_event(T, "n", items=["other"])
    with pytest.raises(ObservationError, match="onset"):
        ob.adverse_event(T, "n", items=["nausea"], onset_t=T + 60)
    with pytest.raises(ObservationError, match="at least one"):
        ob.adverse_event(T, "n", items=[])
    ae = ob.adverse_event(T, "n", items=["nausea", "vomiting"], onset_t=T - 60, intervention="ondansetron", serious=False)
    assert ob.describe(ae) == "AE: Nausea, Vomiting"


def test_discharge_needs_complete_checklist():
    with pytest.raises(ObservationError, match="Escort"):
        ob.discharge(T, "n", {k: True for k in ob.DISCHARGE_ITEMS if k != "escort_confirmed"})
    assert ob.discharge(T, "n", dict.fromkeys(ob.DISCHARGE_ITEMS, True), ready_min=95).data["ready_min"] == 95


def test_time_checks():
    with pytest.raises(ObservationError, match="before the session started"):
        ob.check_time(T - 1, T, T + 100)
    with pytest.raises(ObservationError, match="future"):
        ob.check_time(T + 200, T, T + 100)
    ob.check_time(T + 50, T, T + 100)


def test_amendment_keeps_original_and_needs_reason():
    log = ObservationLog()
    first = ob.moaas(T, "anna", 2)
    log.add(first)
    with pytest.raises(ObservationError, match="reason"):
        ob.amendment(first, ob.moaas(T, "anna", 3), "bob", " ")
    with pytest.raises(ObservationError, match="kind"):
        ob.amendment(first, ob.rass(T, "anna", 0), "bob", "typo")
    fix = ob.amendment(first, ob.moaas(T, "anna", 3), "bob", "typo: was 3")
    log.add(fix)
    assert fix.amends == first.obs_id and fix.author == "bob"
    assert [o.data["score"] for o in log.all()] == [2, 3]
    assert [o.data["score"] for o in log.current(ObsKind.MOAAS)] == [3]
    assert log.amendments_of(first.obs_id) == [fix]
    with pytest.raises(ObservationError, match="already"):
        log.add(first)


def test_record_round_trip():
    o = ob.phase(T, "n", "peak")
    back = ob.Observation.from_record(o.t, o.record())
    assert back == o
    with pytest.raises(ObservationError, match="preparation"):
        ob.phase(T, "n", "nap")
