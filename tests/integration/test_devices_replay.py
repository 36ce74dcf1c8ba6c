"""ReplayDriver playing the real PhysioNet records through its thread. Expected values come from the
recordings themselves (read here with wfdb), not from the driver's decoder."""

from __future__ import annotations

import itertools
import math
import shutil
import threading
import time

import numpy as np
import pytest

# wfdb as imported by devices.replay.physionet, which silences its pandas-3.1 deprecation warning at import
# (pytest turns warnings into errors)
from devices.replay.physionet import ReplayDriver, wfdb
from monitor.clock import FakeClock, SessionClock
from monitor.readings import Flag, LinkState, Quality
from tests.collecting_sink import CollectingSink

S25047N = "mimic2wdb-s25047/s25047-2704-05-04-10-44n"
S25047W = "mimic2wdb-s25047/s25047-2704-05-04-10-44"
MIXED = "icu-mixedsignals-flac/mixedsignals"
A103L = "challenge2015-a103l/a103l"


def play_to_end(driver: ReplayDriver, clock, sink: CollectingSink, timeout_s: float = 5.0) -> None:
    driver.start(sink)
    try:
        if isinstance(clock, FakeClock):
            clock.advance(driver.duration_s + 60.0)
        assert sink.ended.wait(timeout_s), "replay did not finish"
    finally:
        driver.stop()
    assert not driver.running


def test_numerics_record_zeros_become_invalid_and_cuff_values_are_episodic(shared_data):
    raw = wfdb.rdrecord(str(shared_data / S25047N))
    sig = dict(zip(raw.sig_name, raw.p_signal.T, strict=True))
    clock = FakeClock()
    sink = CollectingSink(clock, block_due="first")
    d = ReplayDriver(shared_data / S25047N, clock)
    play_to_end(d, clock, sink)
    origin = d.origin
    assert origin is not None
    assert [(s.state, s.detail) for s in sink.statuses] == [
        (LinkState.CONNECTING, ""),
        (LinkState.STREAMING, ""),
        (LinkState.STOPPED, "end of recording"),
    ]
    assert sink.infos == [d.info] and not sink.early
    assert all(r.value != 0 for r in sink.readings)

    minutes = np.arange(raw.sig_len)
    for name, code in (("HR", "hr"), ("PULSE", "pr"), ("RESP", "rr"), ("SpO2", "spo2")):
        rs = sink.of(code)
        assert len(rs) == raw.sig_len  # one reading a minute, valid or not
        assert [r.t - origin for r in rs] == pytest.approx(minutes * 60.0, abs=1e-3)
        for r, v in zip(rs, sig[name], strict=True):
            if v == 0:
                assert r.quality is Quality.INVALID and r.flags is Flag.NO_VALUE and math.isnan(r.value)
            else:
                assert r.quality is Quality.OK and r.value == pytest.approx(v)
    hr_zero_minutes = [i for i, v in enumerate(sig["HR"]) if v == 0]
    assert 6 in hr_zero_minutes and set(range(45, 72)) <= set(hr_zero_minutes)  # as PROVENANCE.md says
    assert [round((r.t - origin) / 60) for r in sink.of("hr") if r.quality is Quality.INVALID] == hr_zero_minutes

    for name, code in (("NBPSys", "nibp_sys"), ("NBPDias", "nibp_dia"), ("NBPMean", "nibp_map")):
        cuff_minutes = [i for i, v in enumerate(sig[name]) if not math.isnan(v)]
        rs = sink.of(code)
        assert [round((r.t - origin) / 60) for r in rs] == cuff_minutes  # only at cuff times
        assert [r.value for r in rs] == pytest.approx([sig[name][i] for i in cuff_minutes])
    assert len(sink.of("nibp_sys")) == len(sink.of("nibp_dia")) == 18 and len(sink.of("nibp_map")) == 21


def test_waveform_replay_at_600x_keeps_nan_gaps_rates_and_pacing(shared_data):
    raw = wfdb.rdrecord(str(shared_data / MIXED), smooth_frames=False)
    clock = SessionClock(speed=600)
    sink = CollectingSink(clock, block_due="first")
    d = ReplayDriver(shared_data / MIXED, clock)
    play_to_end(d, clock, sink)
    assert sink.statuses[-1].detail == "end of recording" and not sink.early and not sink.readings
    origin = d.origin
    assert origin is not None
    for name, code in (("II", "ecg_ii"), ("ABP", "abp"), ("Pleth", "pleth")):
        i = raw.sig_name.index(name)
        expected = raw.e_p_signal[i]
        blocks, samples = sink.waveform(code)
        assert blocks[0].fs == pytest.approx(raw.fs * raw.samps_per_frame[i])
        assert blocks[0].t0 == pytest.approx(origin)
        for a, b in itertools.pairwise(blocks):
            assert b.t0 == pytest.approx(a.t_end, abs=1e-5)  # contiguous
        np.testing.assert_array_equal(samples, expected)  # raw values, NaN where the record has NaN
    _, ecg = sink.waveform("ecg_ii")
    first_valid_s = np.argmax(~np.isnan(ecg)) / (raw.fs * 4)
    assert first_valid_s == pytest.approx(4.1, abs=0.05)  # ECG NaN for the first ~4.1 s
    assert {b.channel for b in sink.blocks} == {"ecg_ii", "abp", "pleth"}  # III, V, Resp skipped


def test_multi_segment_record_gaps_are_nan_not_interpolated(shared_data):
    raw = wfdb.rdrecord(str(shared_data / S25047W), smooth_frames=False)
    hdr = wfdb.rdheader(str(shared_data / S25047W))
    clock = FakeClock()
    sink = CollectingSink(clock, block_due="first")
    d = ReplayDriver(shared_data / S25047W, clock)
    play_to_end(d, clock, sink)
    for name, code in (("II", "ecg_ii"), ("ABP", "abp")):
        blocks, samples = sink.waveform(code)
        np.testing.assert_array_equal(samples, raw.e_p_signal[raw.sig_name.index(name)])
        assert all(b.fs == 125.0 for b in blocks)
        assert sum(b.n for b in blocks) == hdr.sig_len
    _, ecg = sink.waveform("ecg_ii")
    gap = hdr.seg_len[1]  # the "~" segment before the first ECG segment
    assert hdr.seg_name[1] == "~" and np.isnan(ecg[:gap]).all() and not np.isnan(ecg[gap : gap + 100]).any()
    _, abp = sink.waveform("abp")
    abp_from = int(np.sum(hdr.seg_len[: hdr.seg_name.index("3234460_0017")]))
    assert np.isnan(abp[:abp_from]).all()  # ABP only exists in the last two segments


def test_single_rate_record_and_source_name(shared_data):
    raw = wfdb.rdrecord(str(shared_data / A103L))
    clock = FakeClock()
    sink = CollectingSink(clock, block_due="first")
    d = ReplayDriver(shared_data / A103L, clock, source="replay:alarm-test")
    play_to_end(d, clock, sink)
    _, pleth = sink.waveform("pleth")
    np.testing.assert_allclose(pleth, raw.p_signal[:, raw.sig_name.index("PLETH")])
    assert {b.source for b in sink.blocks} == {"replay:alarm-test"}
    assert [t.name for t in threading.enumerate() if t.name.startswith("driver:")] == []


def test_stopping_mid_replay_reports_stopped(shared_data):
    clock = SessionClock(speed=1)
    sink = CollectingSink(clock, block_due="first")
    d = ReplayDriver(shared_data / MIXED, clock)
    d.start(sink)
    assert "driver:replay:mixedsignals" in {t.name for t in threading.enumerate()}
    time.sleep(0.15)
    d.stop()
    assert sink.statuses[-1].state is LinkState.STOPPED and sink.statuses[-1].detail == "stopped"
    _, ecg = sink.waveform("ecg_ii")
    assert 0 < ecg.size < 250  # about 0.15 s of ECG, not the whole record


def test_a_file_vanishing_mid_replay_is_lost_not_a_crash(shared_data, tmp_path):
    for f in (shared_data / "challenge2015-a103l").glob("a103l.*"):
        shutil.copy(f, tmp_path / f.name)
    clock = FakeClock()
    sink = CollectingSink(clock, block_due="first")
    d = ReplayDriver(tmp_path / "a103l", clock)
    (tmp_path / "a103l.mat").unlink()  # after the constructor checked it, before the thread reads
    play_to_end(d, clock, sink)
    last = sink.statuses[-1]
    assert last.state is LinkState.LOST and "a103l.mat" in last.detail
