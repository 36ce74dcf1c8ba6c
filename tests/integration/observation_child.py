"""Child program for test_observations_kill: records a Spravato session's observations through the
real core and recorder, prints one line per committed observation, then waits to be killed."""

from __future__ import annotations

import sys
import time

from monitor import observations as ob
from monitor.clock import FakeClock
from monitor.core import Core
from monitor.readings import Reading
from monitor.schedule import load_templates
from monitor.session import DosingProtocol, Session, SessionInfo
from recordings.database import open_database
from recordings.recorder import Recorder

T = 1_800_000_000.0


def main(url: str) -> None:
    db = open_database(url)
    clock = FakeClock(start=T)
    recorder = Recorder(db, None, commit_interval_s=0.05, app_version="kill-test", clock=clock)
    core = Core(clock, recorder, templates=load_templates())
    recorder.start()
    core.start()
    core.start_session(Session(SessionInfo("P-0099", DosingProtocol.SPRAVATO, "Anna", clock.now())))
    say = lambda text: (sys.stdout.write(text + "\n"), sys.stdout.flush())  # noqa: E731
    core.record_observation(ob.cadss(clock.advance(30), "Anna", [0] * 23))
    core.record_observation(ob.manual_vitals(clock.advance(30), "Anna", {"nibp_sys": 124, "nibp_dia": 80}))
    core.put_readings([Reading("sim:nibp", "nibp_sys", clock.now(), 126), Reading("sim:nibp", "nibp_dia", clock.now(), 82)])
    first = core.record_observation(
        ob.dose(clock.advance(60), "Anna", drug="esketamine", route="intranasal", dose_mg=28, lot="L7", device=1)
    )
    say(f"dose {first.observation.obs_id}")
    moaas = core.record_observation(ob.moaas(clock.advance(15 * 60), "Anna", 3)).observation
    say(f"moaas {moaas.obs_id}")
    fix = core.record_observation(ob.amendment(moaas, ob.moaas(moaas.t, "Anna", 4), "Bob", "scored the wrong column"))
    say(f"amendment {fix.observation.obs_id}")
    while True:  # the parent kills us here: nothing is flushed or closed on purpose
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1])
