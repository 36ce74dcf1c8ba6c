"""Simulated oximeter and cuff in their real threads: grid timing at 600x, determinism, the ketamine
BP course from cuff readings, and artefact/probe-off/dropout windows. FakeClock jumps make the
2-hour scenarios run in well under a second."""

from __future__ import annotations

import itertools
import math
import threading
import time

import numpy as np
import pytest

from devices.sim.simulated import PLETH_FS, SimulatedNibp, SimulatedOximeter, simulated_devices
from monitor.clock import FakeClock, SessionClock
from monitor.readings import Flag, LinkState, Quality, Reading
from tests.collecting_sink import CollectingSink

START = 1_800_000_000.0


def wait_until(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the driver")
        time.sleep(0.005)


def run_fake(drivers, clock: FakeClock, sink: CollectingSink, steps_s: list[float], done, settle=None) -> None:
    """Start, move the fake clock in ``steps_s`` (after each, wait for ``settle(sink, elapsed)`` if
    given, so the drivers really work in those steps), wait until ``done(sink)``, stop."""
    for d in drivers:
        d.start(sink)
    try:
        elapsed = 0.0
        for step in steps_s:
            clock.advance(step)
            elapsed += step
            if settle is not None:
                wait_until(lambda e=elapsed: settle(sink, e))
        wait_until(lambda: done(sink))
    finally:
        for d in drivers:
            d.stop()


def test_oximeter_and_cuff_at_600x_deliver_every_sample_on_the_grid_and_never_early():
    clock = SessionClock(speed=600)
    sink = CollectingSink(clock)
    oxi, cuff = simulated_devices("baseline", clock, lambda: None, seed=1)
    oxi.start(sink)
    cuff.start(sink)
    names = {t.name for t in threading.enumerate()}
    assert {"driver:sim:oximeter", "driver:sim:nibp"} <= names
    try:
        wait_until(lambda: len(sink.of("spo2")) >= 600 and len(sink.of("nibp_sys")) >= 2, timeout_s=5)  # ~1 s real
        t_start, n_start = time.monotonic(), len(sink.of("spo2"))
        time.sleep(0.25)
        rate = (len(sink.of("spo2")) - n_start) / (time.monotonic() - t_start)
    finally:
        oxi.stop()
        cuff.stop()
        stopped_at = clock.now()
    assert 350 < rate < 850  # ~600 readings per real second per channel at 600x
    assert not sink.early
    for src in ("sim:oximeter", "sim:nibp"):
        assert next(c for c in sink.calls if c.endswith(src) or f":{src}:" in c) == f"register:{src}"
        states = [s.state for s in sink.statuses if s.source == src]
        assert states == [LinkState.CONNECTING, LinkState.STREAMING, LinkState.STOPPED]

    origin = oxi.origin
    assert origin is not None
    for ch in ("spo2", "pr", "rr"):
        rs = sink.of(ch)
        k = np.array([(r.t - origin) for r in rs])
        assert np.allclose(k, np.arange(len(rs)), atol=1e-5)  # every second, none missing, none twice
        assert all(r.quality is Quality.OK and r.value > 0 for r in rs)
    assert len(sink.of("spo2")) <= (stopped_at - origin) + 1

    t, y, blocks = sink.pleth()
    assert t.size >= PLETH_FS * 600 * 0.9
    assert np.allclose(t - origin, np.arange(t.size) / PLETH_FS, atol=1e-5)  # contiguous 75 Hz grid
    for a, b in itertools.pairwise(blocks):
        assert b.t0 == pytest.approx(a.t_end, abs=1e-5)
    assert np.all((y >= 0) & (y <= 1)) and not np.isnan(y).any()

    cuff_origin = cuff.origin
    assert cuff_origin is not None
    for ch in ("nibp_sys", "nibp_dia", "nibp_map"):
        rs = sink.of(ch)
        assert [round(r.t - cuff_origin, 3) for r in rs] == [30.0 + 300.0 * i for i in range(len(rs))]
    assert not sink.of("pr", "sim:nibp")  # the cuff gives only the three BP values
    sys_, dia, mean = sink.of("nibp_sys"), sink.of("nibp_dia"), sink.of("nibp_map")
    assert all(d.value < m.value < s.value for s, d, m in zip(sys_, dia, mean, strict=True))


def test_pleth_has_the_pulse_rate_of_the_pr_readings():
    clock = FakeClock(START)
    sink = CollectingSink(clock)
    oxi = SimulatedOximeter(clock, "baseline", lambda: None, seed=2)
    run_fake([oxi], clock, sink, [120.0], lambda s: s.pleth()[0].size >= 120 * PLETH_FS)
    _t, y, _ = sink.pleth()
    # count beats: upward crossings of a level only the systolic peaks reach
    above = y > 0.7
    beats = np.count_nonzero(above[1:] & ~above[:-1])
    mean_pr = np.mean([r.value for r in sink.of("pr")])
    assert beats == pytest.approx(mean_pr * 2, rel=0.05)  # 120 s = 2 min


def test_same_seed_and_dose_give_identical_output_however_the_clock_moves():
    end_s, n_pleth = 2400.0, int(2400 * PLETH_FS) + 1  # compare everything due up to START + 40 min

    def run(steps: list[float], seed: int) -> tuple[list[tuple], np.ndarray]:
        clock = FakeClock(START)
        sink = CollectingSink(clock)
        devs = simulated_devices("respiratory-depression", clock, lambda: START + 60.0, seed=seed)
        run_fake(
            devs,
            clock,
            sink,
            steps,
            lambda s: len(s.of("spo2")) > end_s and s.pleth()[0].size >= n_pleth,
            settle=lambda s, elapsed: len(s.of("spo2")) >= int(elapsed),  # each step is processed on its own
        )
        rows = sorted((r.source, r.channel, r.t, r.value, r.quality, r.flags) for r in sink.readings if r.t <= START + end_s)
        return rows, sink.pleth()[1][:n_pleth]

    rng = np.random.default_rng(0)
    steps = list(rng.uniform(1.0, 200.0, 15))
    steps.append(end_s + 0.5 - sum(steps))  # a little past the end: FakeClock sums round at 1.8e9 s
    a_rows, a_pleth = run([end_s + 0.5], seed=5)
    b_rows, b_pleth = run(steps, seed=5)
    assert len(a_rows) > 3 * 2400 and a_rows == b_rows
    assert np.array_equal(a_pleth, b_pleth)
    c_rows, _ = run([end_s + 0.5], seed=6)
    assert c_rows != a_rows


def test_ketamine_typical_cuff_readings_peak_30_to_50_min_and_return_by_90():
    """Averaged over seeds, so the check is about the course, not about one seed's noise."""
    clock = FakeClock(START)
    sink = CollectingSink(clock)
    t0 = START + 60.0
    cuffs = [SimulatedNibp(clock, "ketamine-typical", lambda: t0, seed=s, source=f"sim:nibp{s}") for s in range(12)]
    run_fake(cuffs, clock, sink, [2 * 3600.0], lambda s: len(s.of("nibp_sys")) >= 12 * 24)
    per_cycle: dict[float, list[float]] = {}
    for r in sink.of("nibp_sys"):
        per_cycle.setdefault(round((r.t - t0) / 60.0, 3), []).append(r.value)
    minutes = np.array(sorted(per_cycle))
    mean_sys = np.array([np.mean(per_cycle[m]) for m in minutes])
    assert all(len(per_cycle[m]) == 12 for m in minutes)
    baseline = mean_sys[minutes < 0].mean()
    assert 30 <= minutes[np.argmax(mean_sys)] <= 50
    assert mean_sys.max() - baseline == pytest.approx(13.0, abs=3.0)
    assert np.all(np.abs(mean_sys[minutes >= 90] - baseline) < 3.0)
    dia = sink.of("nibp_dia")
    dia_peak = np.mean([r.value for r in dia if 35 <= (r.t - t0) / 60 <= 45])
    dia_base = np.mean([r.value for r in dia if r.t < t0])
    assert dia_peak - dia_base == pytest.approx(9.0, abs=3.0)


def test_hypertensive_responder_cuff_goes_above_180_over_110_around_40_min():
    clock = FakeClock(START)
    sink = CollectingSink(clock)
    t0 = START + 60.0
    cuff = SimulatedNibp(clock, "hypertensive-responder", lambda: t0, seed=1)
    run_fake([cuff], clock, sink, [3600.0], lambda s: len(s.of("nibp_sys")) >= 12)
    pairs = zip(sink.of("nibp_sys"), sink.of("nibp_dia"), strict=True)
    high = [(round((s.t - t0) / 60), s.value, d.value) for s, d in pairs if s.value > 180 and d.value > 110]
    assert high and all(25 <= m <= 55 for m, _, _ in high), high


def test_respiratory_depression_spo2_under_90_for_several_minutes_with_rr_falling():
    clock = FakeClock(START)
    sink = CollectingSink(clock)
    t0 = START + 60.0
    oxi = SimulatedOximeter(clock, "respiratory-depression", lambda: t0, seed=4)
    run_fake([oxi], clock, sink, [3000.0], lambda s: len(s.of("spo2")) > 3000)
    low = np.array([(r.t - t0) / 60.0 for r in sink.of("spo2") if r.value < 90])
    assert low.min() >= 20 and low.max() - low.min() >= 5
    assert np.max(np.diff(low)) < 0.5  # one episode, not scattered noise
    rr_low = [r.value for r in sink.of("rr") if low.min() <= (r.t - t0) / 60.0 <= low.max()]
    rr_before = [r.value for r in sink.of("rr") if r.t < t0 + 15 * 60]
    assert np.mean(rr_low) < np.mean(rr_before) - 5
    assert all(r.quality is Quality.OK for r in sink.readings)  # the patient changed, not the device


def test_without_a_dose_the_patient_stays_at_baseline():
    clock = FakeClock(START)
    sink = CollectingSink(clock)
    oxi = SimulatedOximeter(clock, "respiratory-depression", lambda: None, seed=4)
    run_fake([oxi], clock, sink, [3000.0], lambda s: len(s.of("spo2")) > 3000)
    assert min(r.value for r in sink.of("spo2")) >= 95


def test_artefacts_scenario_flags_probe_off_dropout_and_never_sends_zero():
    clock = FakeClock(START)
    sink = CollectingSink(clock)
    t0 = START + 60.0
    oxi = SimulatedOximeter(clock, "artefacts", lambda: t0, seed=0)
    cuff = SimulatedNibp(clock, "artefacts", lambda: t0, seed=0)

    def done(s: CollectingSink) -> bool:
        spo2 = s.of("spo2")
        return bool(spo2) and spo2[-1].t >= START + 45 * 60 - 1 and len(s.of("nibp_sys")) >= 9

    run_fake([oxi, cuff], clock, sink, [45 * 60.0], done)

    assert all(r.value != 0 for r in sink.readings)
    for r in sink.readings:
        rel = r.t - START
        if r.quality is Quality.INVALID:
            assert math.isnan(r.value) and r.flags is Flag.PROBE_OFF
        elif r.quality is Quality.QUESTIONABLE:
            assert r.flags is Flag.ARTEFACT and math.isfinite(r.value)
        else:
            assert r.flags is Flag.NONE
        if 330 <= rel < 375 or (t0 - START) + 33 * 60 <= rel < (t0 - START) + 33 * 60 + 45:
            assert r.source != "sim:oximeter", "the oximeter is silent during a dropout"

    def window(ch: str, a: float, b: float) -> list[Reading]:
        return [r for r in sink.of(ch) if a <= r.t - START < b]

    motion = window("spo2", 120, 140)
    assert len(motion) == 20 and all(r.quality is Quality.QUESTIONABLE and 62 <= r.value <= 86 for r in motion)
    assert all(r.quality is Quality.QUESTIONABLE and 125 <= r.value <= 210 for r in window("pr", 120, 140))
    probe_off = window("spo2", 210, 250)
    assert len(probe_off) == 40 and all(r.quality is Quality.INVALID for r in probe_off)
    assert not window("spo2", 330, 375) and len(window("spo2", 320, 385)) == 20
    late_probe_off = window("pr", 60 + 25 * 60, 60 + 26 * 60)
    assert len(late_probe_off) == 60 and all(r.flags is Flag.PROBE_OFF for r in late_probe_off)
    ok = [r for r in sink.of("spo2") if r.quality is Quality.OK]
    assert len(ok) > 0.9 * len(sink.of("spo2")) and min(r.value for r in ok) >= 90

    t, y, blocks = sink.pleth()
    rel = t - START
    assert np.isnan(y[(rel >= 210) & (rel < 250)]).all()
    assert not np.isnan(y[(rel < 210) | (rel >= 250) & (rel < 60 + 25 * 60)]).any()
    assert not np.any((rel >= 330) & (rel < 375))  # no samples at all while silent
    gaps = [(a.t_end - START, b.t0 - START) for a, b in itertools.pairwise(blocks) if b.t0 - a.t_end > 1e-5]
    assert [(round(a), round(b)) for a, b in gaps] == [(330, 375), (60 + 33 * 60, 60 + 33 * 60 + 45)]

    cuff_10 = [r for r in sink.readings if r.source == "sim:nibp" and round(r.t - START) == 630]
    assert {r.channel for r in cuff_10} == {"nibp_sys", "nibp_dia", "nibp_map"}
    assert all(r.quality is Quality.QUESTIONABLE and r.flags is Flag.ARTEFACT for r in cuff_10)
    by = {r.channel: r.value for r in cuff_10}
    assert 40 <= by["nibp_sys"] <= 75 and by["nibp_dia"] < by["nibp_sys"]
    others = [r for r in sink.readings if r.source == "sim:nibp" and round(r.t - START) not in (630, 2430)]
    assert others and all(r.quality is Quality.OK for r in others)


def test_stop_before_start_and_double_start():
    clock = FakeClock(START)
    oxi = SimulatedOximeter(clock, "baseline", lambda: None)
    oxi.stop()  # nothing to stop: no error
    sink = CollectingSink(clock)
    oxi.start(sink)
    try:
        with pytest.raises(RuntimeError, match="already started"):
            oxi.start(sink)
    finally:
        oxi.stop()
    assert not oxi.running
    assert sink.statuses[-1].state is LinkState.STOPPED


def test_simulated_devices_helper():
    clock = FakeClock(START)
    devs = simulated_devices("ketamine-typical", clock, lambda: None, seed=3)
    assert [d.info.source for d in devs] == ["sim:oximeter", "sim:nibp"]
    assert [d.info.stale_after_s for d in devs] == [10.0, 5 * 60 + 90.0]
