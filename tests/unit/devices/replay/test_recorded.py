"""RecordedSessionDriver playing a session recorded through the real pipeline (simulated devices →
core → recorder → SQLite). Expected values are read from the database with the reader, never from
the driver: every recorded reading and pleth sample must come back unchanged, shifted in time by
one constant, no earlier than a live device would have delivered it, read in windows."""

from __future__ import annotations

import itertools
import math
import threading
import time

import numpy as np
import pytest

from devices.replay.recorded import RecordedSessionDriver
from monitor.clock import FakeClock
from monitor.errors import StorageError
from monitor.ports import DeviceInfo
from monitor.readings import LinkState, Quality
from recordings.database import open_database
from recordings.reader import RecordingReader
from tests.collecting_sink import CollectingSink
from tests.simulated_session import record_scenario

#: artefacts: motion artefact (2:00), probe off (3:30, INVALID readings + NaN pleth), oximeter
#: silent (5:30, 45 s: a gap); the dose at 1:00.
MINUTES_AFTER_DOSE = 6.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('recorded') / 'source.db'}"
    record_scenario(url, "artefacts", MINUTES_AFTER_DOSE, patient_id="SIM-REPLAY")
    return url


@pytest.fixture
def reader(recorded):
    db = open_database(recorded)
    try:
        yield RecordingReader(db)
    finally:
        db.close()


class SpyReader:
    """The reader, noting every time window asked for."""

    def __init__(self, reader: RecordingReader) -> None:
        self._reader = reader
        self.calls: list[tuple[str, float | None, float | None]] = []
        self._lock = threading.Lock()

    def session_info(self, ref):
        return self._reader.session_info(ref)

    def readings(self, session_id, channels=None, t_from=None, t_to=None):
        with self._lock:
            self.calls.append(("readings", t_from, t_to))
        return self._reader.readings(session_id, channels, t_from, t_to)

    def waveforms(self, session_id, channels=None, t_from=None, t_to=None):
        with self._lock:
            self.calls.append(("waveforms", t_from, t_to))
        return self._reader.waveforms(session_id, channels, t_from, t_to)


def _same_value(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _play(drivers: list[RecordedSessionDriver], clock: FakeClock, sink: CollectingSink, duration_s: float) -> None:
    """Start the drivers and move the clock forward in 20 s steps until the recording is over."""
    for d in drivers:
        d.start(sink)
    try:
        t = 0.0
        while t < duration_s + 60:
            clock.advance(20.0)
            t += 20.0
            time.sleep(0.002)
        deadline = time.monotonic() + 10
        while not sink.stopped({d.info.source for d in drivers}):
            assert time.monotonic() < deadline, "replay did not finish"
            time.sleep(0.01)
    finally:
        for d in drivers:
            d.stop()


def test_every_recorded_reading_and_sample_comes_back_shifted_by_one_offset(reader):
    rec = reader.session("latest")
    devices = [d.info() for d in reader.devices(rec.id)]
    assert {d.source for d in devices} >= {"sim:oximeter", "sim:nibp"}
    clock = FakeClock(start=rec.started + 86_400.0 * 3)  # three days later
    start_at = clock.now()
    spies = {d.source: SpyReader(reader) for d in devices}
    drivers = [RecordedSessionDriver(spies[d.source], rec.id, clock, d, start_at=start_at) for d in devices]
    sink = CollectingSink(clock)
    assert rec.ended is not None
    _play(drivers, clock, sink, rec.ended - rec.started)

    offset = start_at - rec.started
    assert not sink.early
    assert sorted(i.source for i in sink.infos) == sorted(f"replay:{d.source}" for d in devices)
    labels = {i.source: i for i in sink.infos}
    for d in devices:
        mine = labels[f"replay:{d.source}"]
        assert (mine.label, mine.kind, mine.stale_after_s) == (f"{d.label} (replay)", d.kind, d.stale_after_s)
        states = [s.state for s in sink.statuses if s.source == mine.source]
        assert states == [LinkState.CONNECTING, LinkState.STREAMING, LinkState.STOPPED]

    original = reader.readings(rec.id)
    assert any(r.quality is Quality.INVALID for r in original), "the recording has INVALID readings to check"
    assert any(r.quality is Quality.QUESTIONABLE for r in original)
    for d in devices:
        want = [r for r in original if r.source == d.source]
        got = [r for r in sink.readings if r.source == f"replay:{d.source}"]
        assert len(got) == len(want) > 0, d.source
        for g, w in zip(got, want, strict=True):
            assert (g.channel, g.quality, g.flags, g.device_t) == (w.channel, w.quality, w.flags, w.device_t)
            assert _same_value(g.value, w.value)
            assert g.t - w.t == pytest.approx(offset, abs=1e-6)

    recorded_blocks = [b for b in reader.waveforms(rec.id) if b.channel == "pleth"]
    replayed_blocks = [b for b in sink.blocks if b.channel == "pleth"]
    assert {b.source for b in replayed_blocks} == {"replay:sim:oximeter"}
    want_samples = np.concatenate([b.samples for b in recorded_blocks])
    got_samples = np.concatenate([b.samples for b in replayed_blocks])
    assert np.isnan(want_samples).any(), "the probe-off pleth gap is in the recording"
    np.testing.assert_array_equal(got_samples, want_samples)  # NaN == NaN here: gaps stay gaps
    # every replayed sample at its recorded time + offset
    want_t = np.concatenate([b.t0 + np.arange(b.n) / b.fs for b in recorded_blocks]) + offset
    got_t = np.concatenate([b.t0 + np.arange(b.n) / b.fs for b in replayed_blocks])
    np.testing.assert_allclose(got_t, want_t, rtol=0, atol=1e-6)

    # read lazily: windows of at most a few minutes, contiguous, covering the session exactly once
    for spy in spies.values():
        for kind in ("readings", "waveforms"):
            windows = [(a, b) for k, a, b in spy.calls if k == kind]
            assert len(windows) > 3
            assert windows[0][0] is None and windows[-1][1] is None  # nothing before or after is left out
            assert all(a is not None and b is not None and 0 < b - a <= 600 for a, b in windows[1:-1])
            assert all(prev[1] == nxt[0] for prev, nxt in itertools.pairwise(windows))


def test_a_recorded_dropout_is_a_gap_in_the_replay(reader):
    """The oximeter was silent 5:30-6:15 after start: no replayed reading in there either."""
    rec = reader.session("latest")
    oxi = next(d.info() for d in reader.devices(rec.id) if d.source == "sim:oximeter")
    clock = FakeClock(start=rec.started + 1000.0)
    driver = RecordedSessionDriver(reader, rec.id, clock, oxi)
    sink = CollectingSink(clock)
    _play([driver], clock, sink, (rec.ended or 0) - rec.started)
    origin = driver.origin
    assert origin is not None
    ts = sorted((r.t - origin) for r in sink.readings if r.channel == "spo2")
    gaps = [(a, b) for a, b in itertools.pairwise(ts) if b - a > 30]
    want = sorted(r.t - rec.started for r in reader.readings(rec.id, ["spo2"]) if r.source == "sim:oximeter")
    want_gaps = [(a, b) for a, b in itertools.pairwise(want) if b - a > 30]
    assert len(want_gaps) == 1 and want_gaps[0][0] == pytest.approx(5.5 * 60, abs=5)
    assert len(gaps) == 1 and list(gaps[0]) == pytest.approx(list(want_gaps[0]), abs=1e-6)


def test_an_unknown_session_is_a_storage_error_before_any_thread(reader):
    before = threading.active_count()
    with pytest.raises(StorageError, match="no session 999"):
        RecordedSessionDriver(reader, 999, FakeClock(), DeviceInfo("sim:oximeter", "Oximeter", "oximeter", 10.0))
    assert threading.active_count() == before


def test_a_database_that_fails_mid_replay_makes_the_device_lost(reader):
    rec = reader.session("latest")
    oxi = next(d.info() for d in reader.devices(rec.id) if d.source == "sim:oximeter")

    class FailingReader(SpyReader):
        def readings(self, session_id, channels=None, t_from=None, t_to=None):
            if t_from is not None:
                raise StorageError("Could not read x.db: disk I/O error: check the database and retry")
            return super().readings(session_id, channels, t_from, t_to)

    clock = FakeClock(start=rec.started + 1000.0)
    sink = CollectingSink(clock)
    driver = RecordedSessionDriver(FailingReader(reader), rec.id, clock, oxi)
    driver.start(sink)
    try:
        clock.advance(600)
        deadline = time.monotonic() + 5
        while not any(s.state is LinkState.LOST for s in sink.statuses):
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        driver.stop()
    lost = next(s for s in sink.statuses if s.state is LinkState.LOST)
    assert lost.source == "replay:sim:oximeter" and "disk I/O error" in lost.detail
