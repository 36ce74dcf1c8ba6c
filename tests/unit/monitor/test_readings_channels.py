import math

import numpy as np
import pytest

from monitor.channels import CHANNELS, NIBP_CHANNELS, WAVEFORM_CHANNELS, ChannelKind, format_value, spec
from monitor.readings import Flag, Quality, Reading, WaveformBlock


def test_registry_codes_from_the_clinical_reference():
    # clinical.md §6: LOINC / MDC / UCUM
    assert (CHANNELS["hr"].loinc, CHANNELS["hr"].mdc, CHANNELS["hr"].ucum) == ("8867-4", 147842, "/min")
    assert (CHANNELS["nibp_sys"].loinc, CHANNELS["nibp_sys"].mdc) == ("8480-6", 150021)
    assert (CHANNELS["nibp_dia"].loinc, CHANNELS["nibp_dia"].mdc) == ("8462-4", 150022)
    assert (CHANNELS["nibp_map"].loinc, CHANNELS["nibp_map"].mdc) == ("8478-0", 150023)
    assert (CHANNELS["spo2"].loinc, CHANNELS["spo2"].mdc, CHANNELS["spo2"].ucum) == ("59408-5", 150456, "%")
    assert (CHANNELS["rr"].loinc, CHANNELS["rr"].mdc) == ("9279-1", 151562)
    assert CHANNELS["pr"].mdc == 149530
    assert all(CHANNELS[c].ucum == "mm[Hg]" for c in NIBP_CHANNELS)


def test_codes_are_short_lowercase_ascii_and_ranges_sane():
    for code, s in CHANNELS.items():
        assert code == s.code and code.isascii() and code == code.lower() and len(code) <= 10
        lo, hi = s.display_range
        assert lo < hi
    assert set(WAVEFORM_CHANNELS) == {"pleth", "ecg_ii", "abp"}
    assert CHANNELS["nibp_sys"].kind is ChannelKind.EPISODIC


def test_unknown_channel_is_refused():
    with pytest.raises(ValueError, match="unknown channel"):
        Reading("x", "heart", 0.0, 60.0)
    with pytest.raises(KeyError, match="known"):
        spec("heart")


def test_invalid_reading_never_carries_a_number():
    r = Reading("x", "spo2", 1.0, 0.0, Quality.INVALID, Flag.NO_VALUE)
    assert math.isnan(r.value) and not r.valid
    r2 = Reading.invalid("x", "spo2", 1.0, Flag.PROBE_OFF)
    assert math.isnan(r2.value) and r2.flags & Flag.PROBE_OFF
    assert r2.unit == "%"


def test_format_value_uses_channel_decimals():
    assert format_value("hr", 72.4) == "72"
    assert format_value("temp", 36.55) in ("36.5", "36.6")
    assert format_value("spo2", float("nan")) == "--"


def test_waveform_block_times():
    b = WaveformBlock("x", "pleth", 100.0, 75.0, np.zeros(150))
    assert b.n == 150 and b.t_end == pytest.approx(102.0)
    with pytest.raises(ValueError):
        WaveformBlock("x", "pleth", 0.0, 0.0, np.zeros(1))
