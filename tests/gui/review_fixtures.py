"""A short simulated session with alarms, recorded through the real pipeline, for the review tests."""

from __future__ import annotations

from monitor.session import DosingProtocol, SessionInfo
from tests.simulated_session import record_scenario


def record_session(db_url: str, patient_id: str = "SIM-REV-1", minutes_after_dose: float = 45.0) -> None:
    """Record ``hypertensive-responder`` at 600x: baseline, dose, ``minutes_after_dose`` of monitoring."""
    record_scenario(db_url, "hypertensive-responder", minutes_after_dose, patient_id=patient_id, seed=5)


def record_synthetic(db_url: str, patient_id: str = "SYN-2") -> int:
    """A 20-minute session written through the real Recorder with known values: HR 70 at 1 Hz with an
    INVALID stretch (minutes 5-6), cuff readings 150/95 at minutes 2, 10, 18, a HIGH SpO2 alarm
    raised at minute 8 and cleared at minute 9, a MOAA/S 4 observation at minute 3. Returns the id."""
    import math

    from monitor.events import EventKind, SessionEvent
    from monitor.observations import moaas
    from monitor.ports import DeviceInfo
    from monitor.readings import Flag, Reading
    from recordings.database import open_database
    from recordings.recorder import Recorder

    t_start = 1_800_000_000.0
    t0 = t_start + 60.0
    db = open_database(db_url)
    rec = Recorder(db)
    rec.start()
    try:
        sid = rec.begin_session(SessionInfo(patient_id, DosingProtocol.KETAMINE_IV, "Dr Test", t_start, t0=t0))
        rec.register_device(sid, DeviceInfo("sim:mon", "Monitor", "monitor", 10.0))
        readings = []
        for i in range(20 * 60):
            t = t_start + i
            if 5 * 60 <= i < 6 * 60:
                readings.append(Reading.invalid("sim:mon", "hr", t, Flag.PROBE_OFF))
            else:
                readings.append(Reading("sim:mon", "hr", t, 70.0))
            readings.append(Reading("sim:mon", "spo2", t, 97.0))
        for m in (2, 10, 18):
            t = t_start + m * 60 + 0.5
            readings += [
                Reading("sim:mon", "nibp_sys", t, 150.0),
                Reading("sim:mon", "nibp_dia", t, 95.0),
                Reading("sim:mon", "nibp_map", t, 113.0),
            ]
        rec.submit_readings(sid, readings)
        alarm = {
            "key": "spo2_low",
            "priority": "HIGH",
            "category": "physiological",
            "message": "SpO2 low",
            "value": 88.0,
            "limit": 90.0,
            "user": None,
        }
        rec.add_event(sid, SessionEvent(EventKind.ALARM, t_start + 8 * 60, "app", {**alarm, "transition": "raised"}))
        rec.add_event(sid, SessionEvent(EventKind.ALARM, t_start + 9 * 60, "app", {**alarm, "transition": "cleared"}))
        obs = moaas(t_start + 3 * 60, "Dr Test", 4)
        rec.add_event(sid, SessionEvent(EventKind.OBSERVATION, obs.t, "user:Dr Test", obs.record()))
        rec.update_session(
            SessionInfo(patient_id, DosingProtocol.KETAMINE_IV, "Dr Test", t_start, t0, t_start + 20 * 60, sid, "ended")
        )
        rec.flush()
        assert not math.isnan(t0)
        return sid
    finally:
        rec.stop()
        db.close()
