"""The simulated patient: drug curves follow the cited time course, noise is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from devices.sim.physiology import ARTEFACT, DROPOUT, NORMAL, PROBE_OFF, Physiology, drug_curve, gaussian, uniform
from devices.sim.scenario import DrugEffect, load_scenario

ORIGIN = 1_800_000_000.0
T0 = ORIGIN + 60.0
MINUTES = np.arange(-1.0, 180.0, 0.25)  # minutes after t0


def _curve(name: str, var: str, t0: float | None = T0) -> np.ndarray:
    return Physiology(load_scenario(name)).curve(var, T0 + MINUTES * 60.0, t0, ORIGIN)


def test_drug_curve_is_zero_outside_its_window_and_peaks_where_told():
    e = DrugEffect(peak_delta=13.0, time_to_peak_min=40.0, back_to_baseline_min=90.0)
    m = np.linspace(-30, 200, 2301)
    y = drug_curve(e, m)
    assert np.all(y[m <= 0] == 0) and np.all(y[m >= 90] == 0)
    assert m[np.argmax(y)] == pytest.approx(40.0, abs=0.1) and y.max() == pytest.approx(13.0)
    rise, fall = y[(m >= 0) & (m <= 40)], y[(m >= 40) & (m <= 90)]
    assert np.all(np.diff(rise) >= 0) and np.all(np.diff(fall) <= 0)
    assert np.max(np.abs(np.diff(y))) < 0.1  # smooth: no jumps


def test_ketamine_typical_noiseless_bp_peaks_30_to_50_min_and_is_back_by_90():
    for var, base, peak in (("sbp", 124.0, 13.0), ("dbp", 78.0, 9.0)):
        y = _curve("ketamine-typical", var)
        assert 30 <= MINUTES[np.argmax(y)] <= 50
        assert y.max() - base == pytest.approx(peak, abs=0.5)
        assert np.all(np.abs(y[MINUTES >= 90] - base) < 1.0)
        assert np.all(y[MINUTES <= 0] == base)
    hr = _curve("ketamine-typical", "hr")
    assert hr.max() - 72.0 == pytest.approx(4.0, abs=0.5)


def test_no_dose_means_baseline():
    y = _curve("ketamine-typical", "sbp", t0=None)
    assert np.all(y == 124.0)


def test_hypertensive_responder_exceeds_180_over_110_around_40_min():
    sys, dia = _curve("hypertensive-responder", "sbp"), _curve("hypertensive-responder", "dbp")
    assert sys.max() > 180 and dia.max() > 110
    assert 30 <= MINUTES[np.argmax(sys)] <= 50 and 30 <= MINUTES[np.argmax(dia)] <= 50
    assert sys[MINUTES <= 0].max() < 140 and dia[MINUTES <= 0].max() < 90  # pre-dose under the hold guide


def test_respiratory_depression_spo2_under_90_for_minutes_with_rr_falling():
    spo2, rr = _curve("respiratory-depression", "spo2"), _curve("respiratory-depression", "rr")
    low = MINUTES[spo2 < 90]
    assert low.size and low.min() > 15 and low.max() - low.min() >= 5  # several minutes, after the dose
    assert np.all(np.diff(low) == pytest.approx(0.25))  # one contiguous episode
    assert rr[spo2 < 90].max() < 10 and rr[MINUTES < 15].min() == pytest.approx(14.0)
    assert spo2[MINUTES > 45].min() == pytest.approx(97.6)  # recovered


def test_samples_are_deterministic_and_independent_of_chunking():
    p1, p2 = Physiology(load_scenario("ketamine-typical"), seed=7), Physiology(load_scenario("ketamine-typical"), seed=7)
    k = np.arange(7200)
    t = ORIGIN + k.astype(float)
    whole = p1.sample("hr", t, k, T0, ORIGIN)
    parts = np.concatenate([p2.sample("hr", t[a : a + 113], k[a : a + 113], T0, ORIGIN) for a in range(0, 7200, 113)])
    assert np.array_equal(whole, parts)
    other = Physiology(load_scenario("ketamine-typical"), seed=8).sample("hr", t, k, T0, ORIGIN)
    assert not np.array_equal(whole, other)
    # the same seed and dose offset give the same session on another day
    later = p1.sample("hr", t + 86_400.0, k, T0 + 86_400.0, ORIGIN + 86_400.0)
    assert np.allclose(whole, later, atol=1e-6)


def test_hashed_noise_is_standard_normal_and_stable():
    g = gaussian(3, "x", np.arange(200_000))
    assert abs(g.mean()) < 0.01 and abs(g.std() - 1.0) < 0.01
    u = uniform(3, "x", np.arange(100_000))
    assert 0 < u.min() and u.max() <= 1 and abs(u.mean() - 0.5) < 0.01
    assert np.array_equal(gaussian(3, "x", [5, 6]), gaussian(3, "x", np.array([5, 6])))
    assert gaussian(3, "x", [5])[0] != gaussian(3, "y", [5])[0]


def test_spo2_never_exceeds_100():
    p = Physiology(load_scenario("baseline"), seed=1)
    k = np.arange(20_000)
    assert p.sample("spo2", ORIGIN + k, k, None, ORIGIN).max() <= 100.0


def test_device_conditions_follow_their_anchor():
    p = Physiology(load_scenario("artefacts"))
    t = ORIGIN + np.arange(0, 3600.0)
    before_dose = p.condition("oximeter", t, None, ORIGIN)
    assert before_dose[125] == ARTEFACT and before_dose[215] == PROBE_OFF and before_dose[335] == DROPOUT
    assert before_dose[100] == NORMAL and before_dose[1600] == NORMAL  # dose-anchored: not without a dose
    dosed = p.condition("oximeter", t, T0, ORIGIN)
    assert dosed[60 + 25 * 60 + 10] == PROBE_OFF and dosed[60 + 33 * 60 + 10] == DROPOUT
    nibp = p.condition("nibp", t, None, ORIGIN)
    assert nibp[610] == ARTEFACT and nibp[0] == NORMAL
