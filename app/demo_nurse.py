"""``--demo-nurse``: a scripted nurse for demos, so a whole protocol session runs unattended from
the pre-dose checklist to discharge. It answers each checkpoint at its due time, after its prompt has
shown "due now" for the template's window, through the same ``Core.record_observation`` path and
validation as the dialogs; every entry is signed "demo nurse".
"""

from __future__ import annotations

import logging

from monitor import observations as ob
from monitor.core import Core
from monitor.errors import KnownError
from monitor.observations import ObsKind
from monitor.schedule import CheckKind, CheckState

log = logging.getLogger(__name__)

AUTHOR = "demo nurse"
#: A plausible course: sedation deepest at 30–45 min, dissociation at 40 min (clinical.md §1.3).
MOAAS_AT_MIN = {15: 4, 30: 3, 45: 4, 60: 5, 90: 5, 120: 5}
CADSS_ITEMS_AT_MIN = {0: [0] * 23, 40: [2, 2, 1, 1, 1, 1, 1] + [0] * 16, 90: [1] + [0] * 22}


class DemoNurse:
    """Call ``step()`` from the control timer (GUI thread)."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._done: set[str] = set()

    def step(self) -> None:
        try:
            self._step()
        except (ValueError, KnownError) as exc:  # refused or not recordable now: the nurse waits
            log.info("demo nurse: %s", exc)

    def _step(self) -> None:
        core = self._core
        session = core.session
        if session is None or session.info.ended is not None:
            return
        info, now = session.info, core.clock.now()
        current = core.observations.current()
        if not any(o.kind is ObsKind.PREDOSE_CHECKLIST for o in current):
            answers = dict.fromkeys(ob.PREDOSE_ITEMS, False)
            answers.update(
                rems_enrolled=True, npo_food_2h=True, npo_liquids_30min=True, nasal_meds_1h=True, transport_arranged=True
            )
            core.record_observation(ob.predose_checklist(now, AUTHOR, answers))
        status = core.schedule_status(now)
        if status is None:
            return
        for s in status.checkpoints:
            key = s.checkpoint.key
            if key in self._done or s.state is CheckState.DONE or s.checkpoint.kind is CheckKind.BP:
                continue  # BPs come from the simulated cuff
            if s.checkpoint.pre_dose:
                if info.t0 is not None:
                    continue  # missed: stays overdue in the record
            elif s.state is CheckState.UPCOMING or s.due_t is None or now < s.due_t:
                continue  # the prompt shows "due now" from its opening; the nurse answers on time
            minute = 0 if s.checkpoint.pre_dose else round(s.checkpoint.at_s / 60)
            if s.checkpoint.kind is CheckKind.MOAAS:
                core.record_observation(ob.moaas(now, AUTHOR, MOAAS_AT_MIN.get(minute, 5)))
            else:
                core.record_observation(ob.cadss(now, AUTHOR, CADSS_ITEMS_AT_MIN.get(minute, [0] * 23)))
            self._done.add(key)
            return
        if status.discharge.allowed:
            core.record_observation(ob.discharge(now, AUTHOR, dict.fromkeys(ob.DISCHARGE_ITEMS, True), ready_min=90.0))
