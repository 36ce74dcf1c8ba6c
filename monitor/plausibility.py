"""The one place a reading is checked against what a patient can have (issue 13).

The core runs ``screen`` on every batch before anything else sees it, so the live store, the alarm
engine and the recording get the same verdict, whichever driver or decoder delivered the value:

* a value outside its channel's plausibility range (``monitor.channels.Plausible``) becomes INVALID
  with ``Flag.IMPLAUSIBLE``; it keeps its number for review in the recording, is never shown and
  never feeds a physiological rule (the alarm engine raises the "implausible value" technical alarm);
* a blood pressure whose diastolic is above its systolic, or whose mean lies outside
  [diastolic, systolic], is an artefact (QUESTIONABLE + ``Flag.ARTEFACT``, as a device-flagged one):
  one of its numbers is wrong and nobody can tell which. Values of one measurement share source and
  time; they are paired within one ingest batch (drivers deliver a cuff cycle as one list).
"""

from __future__ import annotations

from typing import Final

from monitor.channels import implausible
from monitor.readings import Flag, Quality, Reading

#: (systolic, diastolic, mean) of each blood pressure measured as one reading.
PRESSURE_TRIPLES: Final = (("nibp_sys", "nibp_dia", "nibp_map"), ("abp_sys", "abp_dia", "abp_map"))
_PART: Final = {code: (i, k) for i, triple in enumerate(PRESSURE_TRIPLES) for k, code in enumerate(triple)}


def screen(readings: list[Reading]) -> list[Reading]:
    """The batch with implausible values made INVALID and incoherent pressures marked artefact."""
    out = [_in_range(r) for r in readings]
    groups: dict[tuple[str, float, int], list[int | None]] = {}
    for idx, r in enumerate(out):
        part = _PART.get(r.channel)
        if part is None or not r.valid:
            continue
        slots = groups.setdefault((r.source, r.t, part[0]), [None, None, None])
        slots[part[1]] = idx
    for slots in groups.values():
        i_sys, i_dia, i_map = slots
        if i_sys is None or i_dia is None:
            continue
        sys_, dia = out[i_sys].value, out[i_dia].value
        mean = None if i_map is None else out[i_map].value
        if dia > sys_ or (mean is not None and not dia <= mean <= sys_):
            for i in (i_sys, i_dia, i_map):
                if i is not None:
                    out[i] = _artefact(out[i])
    return out


def _in_range(r: Reading) -> Reading:
    if not r.valid or implausible(r.channel, r.value) is None:
        return r
    return Reading(r.source, r.channel, r.t, r.value, Quality.INVALID, r.flags | Flag.IMPLAUSIBLE, r.device_t)


def _artefact(r: Reading) -> Reading:
    quality = max(r.quality, Quality.QUESTIONABLE)
    return Reading(r.source, r.channel, r.t, r.value, Quality(quality), r.flags | Flag.ARTEFACT, r.device_t)
