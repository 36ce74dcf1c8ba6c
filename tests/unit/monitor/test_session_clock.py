import time

import pytest

from monitor.clock import FakeClock, SessionClock
from monitor.session import DosingProtocol, Session, SessionInfo, SessionState, validate_patient_id


def _session(start=1000.0):
    return Session(SessionInfo("KS-0042", DosingProtocol.SPRAVATO, "RN Lee", start))


def test_session_clock_runs_at_its_speed():
    c = SessionClock(speed=100.0)
    a = c.now()
    time.sleep(0.05)
    elapsed = c.now() - a
    assert 3.0 < elapsed < 30.0
    assert c.real_seconds(60) == pytest.approx(0.6)
    with pytest.raises(ValueError):
        SessionClock(speed=0)


def test_fake_clock_moves_only_by_hand():
    c = FakeClock(start=10.0)
    assert c.now() == 10.0
    c.advance(5)
    assert c.now() == 15.0


@pytest.mark.parametrize("pid", ["KS-0042", "p_17", "AB.12"])
def test_pseudonyms_accepted(pid):
    assert validate_patient_id(f" {pid} ") == pid


@pytest.mark.parametrize("pid", ["", "x", "John Smith", "Smith, John", "a" * 40, "KS 42"])
def test_names_and_junk_refused_with_a_reason(pid):
    with pytest.raises(ValueError, match="pseudonym"):
        validate_patient_id(pid)


def test_t0_is_set_once_by_the_first_dose():
    s = _session()
    assert s.info.state is SessionState.PREPARING
    s.mark_dose(1060.0)
    assert s.t0 == 1060.0 and s.info.state is SessionState.DOSED
    assert s.info.minutes_from_t0(1060.0 + 40 * 60) == pytest.approx(40.0)
    with pytest.raises(ValueError, match="already set"):
        s.mark_dose(1100.0)
    assert s.t0 == 1060.0


def test_dose_before_start_or_after_end_refused():
    s = _session()
    with pytest.raises(ValueError, match="before the session started"):
        s.mark_dose(999.0)
    s.end(2000.0)
    assert s.info.state is SessionState.ENDED
    with pytest.raises(ValueError, match="ended"):
        s.mark_dose(1500.0)


def test_clinician_required():
    with pytest.raises(ValueError, match="clinician"):
        Session(SessionInfo("KS-0042", DosingProtocol.KETAMINE_IV, "  ", 0.0))
