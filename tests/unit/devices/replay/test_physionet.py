"""ReplayDriver set-up (no thread): record lookup, channel mapping, the MIMIC "0 = no value" rule,
and gaps for missing segments. Playing records through the thread is in tests/integration."""

from __future__ import annotations

import logging
import math
import shutil
import threading

import numpy as np
import pytest

# wfdb as imported by devices.replay.physionet, which silences its pandas-3.1 deprecation warning at import
# (pytest turns warnings into errors)
from devices.replay.physionet import ReplayDriver, _numeric_reading, wfdb
from monitor.clock import FakeClock
from monitor.errors import ConfigError
from monitor.readings import Flag, Quality

S25047N = "mimic2wdb-s25047/s25047-2704-05-04-10-44n"


def test_missing_record_is_a_config_error_before_any_thread(shared_data):
    before = threading.active_count()
    path = shared_data / "mimic2wdb-s25047" / "nope"
    with pytest.raises(ConfigError) as err:
        ReplayDriver(path, FakeClock())
    msg = str(err.value)
    assert msg.startswith(f"replay record not found: {path}(.hea) — give the record path without extension, e.g. ")
    assert "../shared/data/" in msg
    assert threading.active_count() == before


def test_header_path_is_accepted_and_source_defaults_to_record_name(shared_data):
    d = ReplayDriver(str(shared_data / (S25047N + ".hea")), FakeClock())
    assert d.info.source == "replay:s25047-2704-05-04-10-44n" and d.info.kind == "replay"
    assert d.channels == ["hr", "pr", "rr", "spo2", "nibp_sys", "nibp_dia", "nibp_map"]
    assert d.duration_s == pytest.approx(72 * 60, rel=1e-6)
    assert d.info.stale_after_s > 60  # one value a minute must not look like a silent device
    assert ReplayDriver(shared_data / S25047N, FakeClock(), source="replay:bed3").info.source == "replay:bed3"


def test_unknown_signals_are_skipped_with_one_log_line(shared_data, caplog):
    with caplog.at_level(logging.INFO, logger="devices.replay.physionet"):
        d = ReplayDriver(shared_data / "icu-mixedsignals-flac" / "mixedsignals", FakeClock())
    assert d.channels == ["ecg_ii", "abp", "pleth"]
    lines = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert lines == ["replay mixedsignals: skipping signals the monitor has no channel for: III, V, Resp"]


def test_record_without_known_signals_is_refused(tmp_path):
    (tmp_path / "odd.hea").write_text("odd 2 100 50\nodd.dat 16 200/mV 16 0 0 0 0 V\nodd.dat 16 200/mV 16 0 0 0 0 III\n")
    (tmp_path / "odd.dat").write_bytes(bytes(50 * 2 * 2))
    with pytest.raises(ConfigError, match="none of its signals is a channel the monitor knows"):
        ReplayDriver(tmp_path / "odd", FakeClock())


def test_malformed_header_or_missing_signal_file_is_refused(tmp_path, shared_data):
    (tmp_path / "bad.hea").write_text("this is not a header\n")
    with pytest.raises(ConfigError, match="cannot read its header"):
        ReplayDriver(tmp_path / "bad", FakeClock())
    shutil.copy(shared_data / "challenge2015-a103l" / "a103l.hea", tmp_path / "a103l.hea")
    with pytest.raises(ConfigError, match=r"signal file\(s\) missing: a103l.mat"):
        ReplayDriver(tmp_path / "a103l", FakeClock())


def test_mimic_numerics_convention():
    ok = _numeric_reading("r", "hr", 1.0, 72.0)
    assert ok is not None and ok.quality is Quality.OK and ok.value == 72.0
    for code in ("hr", "pr", "rr", "spo2", "abp_sys", "nibp_sys"):
        zero = _numeric_reading("r", code, 1.0, 0.0)
        assert zero is not None and zero.quality is Quality.INVALID and zero.flags is Flag.NO_VALUE and math.isnan(zero.value)
    nan_hr = _numeric_reading("r", "hr", 1.0, math.nan)
    assert nan_hr is not None and nan_hr.quality is Quality.INVALID
    assert _numeric_reading("r", "nibp_sys", 1.0, math.nan) is None  # between cuff readings: no reading


def test_missing_segment_files_read_as_a_nan_gap(shared_data, caplog):
    """s00001: segments 0009-0011 have headers but no .dat: a gap, not an error, not interpolation."""
    with caplog.at_level(logging.WARNING, logger="devices.replay.physionet"):
        d = ReplayDriver(shared_data / "mimic2wdb-s00001" / "s00001-2896-10-10-00-31", FakeClock())
    assert sum("3975656_0009" in r.getMessage() for r in caplog.records) == 1
    hdr = wfdb.rdheader(str(shared_data / "mimic2wdb-s00001" / "s00001-2896-10-10-00-31"))
    starts = np.cumsum([0, *hdr.seg_len])
    i12 = hdr.seg_name.index("3975656_0012")  # 0011 (II, V) is missing; 0012 (II, V, ABP) is there
    assert hdr.seg_name[i12 - 1] == "3975656_0011"
    a12 = int(starts[i12])
    chunk = d._read(a12 - 100, a12 + 100)
    seg12 = wfdb.rdrecord(str(shared_data / "mimic2wdb-s00001" / "3975656_0012"), sampto=100, smooth_frames=False)
    assert np.isnan(chunk["ecg_ii"][:100]).all()  # the end of the missing 0011
    assert np.allclose(chunk["ecg_ii"][100:], seg12.e_p_signal[seg12.sig_name.index("II")], equal_nan=True)
