"""A full Spravato session as the demo runs it, on a fake clock: pre-dose checklist, cuff BP, dose,
every MOAA/S and CADSS prompt shown "due now" before it is answered on time, discharge at T+120."""

from __future__ import annotations

from app.demo_nurse import DemoNurse
from monitor import observations as ob
from monitor.clock import FakeClock
from monitor.core import Core
from monitor.observations import ObsKind
from monitor.readings import Reading
from monitor.schedule import CheckState, load_templates
from monitor.session import DosingProtocol, Session, SessionInfo
from tests.unit.monitor.test_core import FakeRecorder

T = 1_800_000_000.0


def test_full_spravato_session_from_checklist_to_discharge():
    clock = FakeClock(T)
    core = Core(clock, FakeRecorder(), templates=load_templates())
    core.start_session(Session(SessionInfo("SIM-1", DosingProtocol.SPRAVATO, "Demo nurse", T)))
    nurse = DemoNurse(core)
    first_due_now: dict[str, float] = {}
    step = 10.0
    while core.session.info.ended is None and clock.now() < T + 3 * 3600:
        now = clock.now()
        if round(now - T) % 300 == 30:  # the simulated cuff: every 5 min from +30 s
            core.put_readings([Reading("sim:nibp", "nibp_sys", now, 124), Reading("sim:nibp", "nibp_dia", now, 80)])
            core.process_pending()
        if core.session.info.t0 is None and now - T >= 60:
            core.record_observation(ob.dose(now, "demo", drug="esketamine", route="intranasal", dose_mg=28, lot="DEMO", device=1))
        status = core.schedule_status()
        for s in status.checkpoints:
            if s.state is CheckState.DUE_NOW:
                first_due_now.setdefault(s.checkpoint.key, now)
        nurse.step()
        clock.advance(step)
    info = core.session.info
    assert info.end_reason == "discharged"
    assert T + 60 + 120 * 60 <= info.ended < T + 60 + 121 * 60
    final = core.schedule_status(info.ended)
    assert all(s.state is CheckState.DONE for s in final.checkpoints), [(s.label, s.state) for s in final.checkpoints]
    t0 = info.t0
    for key, minute in [("moaas_15", 15), ("moaas_30", 30), ("cadss_40", 40), ("moaas_120", 120), ("bp_40", 40)]:
        assert t0 + (minute - 5) * 60 <= first_due_now[key] < t0 + (minute - 5) * 60 + step, key
    kinds = [o.kind for o in core.observations.all()]
    assert kinds[:3] == [ObsKind.PREDOSE_CHECKLIST, ObsKind.CADSS, ObsKind.DOSE]
    assert kinds.count(ObsKind.MOAAS) == 6 and kinds.count(ObsKind.CADSS) == 3 and kinds[-1] is ObsKind.DISCHARGE
    moaas_times = [round((o.t - t0) / 60) for o in core.observations.all() if o.kind is ObsKind.MOAAS]
    assert moaas_times == [15, 30, 45, 60, 90, 120]
