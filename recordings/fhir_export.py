"""``session-monitor export --format fhir``: the session's vital signs as a FHIR R4 Bundle
(type ``collection``) of vital-signs ``Observation`` resources (clinical.md requirement 33, §6).

Built by hand as plain JSON, so the program needs no FHIR library at run time (the tests validate
the output with ``fhir.resources``). Choices:

* Each Observation has LOINC and IEEE 11073 MDC codings of the channel and a UCUM ``valueQuantity``;
  SpO2 carries both 59408-5 (by pulse oximetry) and 2708-6 (arterial O2 saturation), as the
  vital-signs profile asks.
* A cuff cycle's systolic and diastolic readings (same device, same time) become one 85354-9 blood
  pressure panel with 8480-6 / 8462-4 components; its mean is a separate 8478-0 Observation.
  A systolic without its diastolic (or the reverse) is exported as a single component observation.
* ``subject`` is a logical reference to the pseudonymous Patient (identifier only, never a name);
  ``device`` is a logical reference by the device's source id.
* INVALID readings (no value) are omitted: they record that the device was there, which FHIR
  vital-signs observations do not carry; the gaps are in the CSV / JSON / EDF exports.
  QUESTIONABLE readings are exported with an interpretation note in ``note``.
* Channels without a LOINC code (live cuff pressure, waveforms) are not exported.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any, Final

from monitor.channels import CHANNELS
from monitor.readings import Quality, Reading
from recordings.database import Database
from recordings.export import iso_utc
from recordings.reader import DeviceRecord, RecordingReader, SessionRecord

LOINC: Final = "http://loinc.org"
MDC: Final = "urn:iso:std:iso:11073:10101"
UCUM: Final = "http://unitsofmeasure.org"
CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
PSEUDONYM_SYSTEM: Final = "urn:session-monitor:patient-pseudonym"
DEVICE_SYSTEM: Final = "urn:session-monitor:device-source"
#: Namespace for stable resource ids: the same session exports to the same fullUrls.
_NS: Final = uuid.UUID("6f1c1e4a-53b4-4f2c-9a6e-0c9b1d2f7a10")

BP_PANEL: Final = ("85354-9", "Blood pressure panel with all children optional", 150020, "MDC_PRESS_BLD_NONINV")
_MDC_NAMES: Final = {
    147842: "MDC_ECG_HEART_RATE",
    149530: "MDC_PULS_OXIM_PULS_RATE",
    150456: "MDC_PULS_OXIM_SAT_O2",
    150021: "MDC_PRESS_BLD_NONINV_SYS",
    150022: "MDC_PRESS_BLD_NONINV_DIA",
    150023: "MDC_PRESS_BLD_NONINV_MEAN",
    151562: "MDC_RESP_RATE",
}


def fhir_bundle(db: Database, ref: int | str) -> dict[str, Any]:
    """Session ``ref`` as a FHIR R4 Bundle (a JSON-ready dict)."""
    reader = RecordingReader(db)
    session = reader.session(ref)
    devices = {d.source: d for d in reader.devices(session.id)}
    return bundle_from(session, devices, reader.readings(session.id))


def bundle_from(session: SessionRecord, devices: dict[str, DeviceRecord], readings: Sequence[Reading]) -> dict[str, Any]:
    """The Bundle for already-loaded data (readings in time order)."""
    entries: list[dict[str, Any]] = []
    cuff: dict[tuple[str, float], dict[str, Reading]] = {}
    for r in readings:
        if not r.valid or not math.isfinite(r.value) or CHANNELS[r.channel].loinc is None:
            continue
        if r.channel in ("nibp_sys", "nibp_dia"):
            cuff.setdefault((r.source, r.t), {})[r.channel] = r
        else:
            entries.append(_simple(session, devices, r))
    for (source, t), pair in cuff.items():
        if len(pair) == 2:
            entries.append(_bp_panel(session, devices, source, t, pair["nibp_sys"], pair["nibp_dia"]))
        else:
            entries.extend(_simple(session, devices, r) for r in pair.values())
    entries.sort(key=lambda e: e["resource"]["effectiveDateTime"])
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NS, f"session:{session.id}:{session.started!r}")),
        "type": "collection",
        "timestamp": iso_utc(session.ended if session.ended is not None else session.started),
        "entry": entries,
    }


def _coding(system: str, code: str | int, display: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"system": system, "code": str(code)}
    if display:
        c["display"] = display
    return c


def _codes(channel: str) -> list[dict[str, Any]]:
    spec = CHANNELS[channel]
    codings = [_coding(LOINC, spec.loinc or "", spec.description)]
    if channel == "spo2":
        codings.append(_coding(LOINC, "2708-6", "Oxygen saturation in Arterial blood"))
    if spec.mdc is not None:
        codings.append(_coding(MDC, spec.mdc, _MDC_NAMES.get(spec.mdc)))
    return codings


def _quantity(r: Reading) -> dict[str, Any]:
    unit = CHANNELS[r.channel].ucum
    return {"value": float(r.value), "unit": unit, "system": UCUM, "code": unit}


def _base(session: SessionRecord, devices: dict[str, DeviceRecord], source: str, t: float, key: str) -> dict[str, Any]:
    dev = devices.get(source)
    device_ref: dict[str, Any] = {"type": "Device", "identifier": {"system": DEVICE_SYSTEM, "value": source}}
    if dev is not None:
        device_ref["display"] = dev.label
    return {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(_NS, f"{session.id}:{key}:{source}:{t!r}")),
        "status": "final",
        "category": [{"coding": [_coding(CATEGORY, "vital-signs", "Vital Signs")], "text": "Vital Signs"}],
        "subject": {"type": "Patient", "identifier": {"system": PSEUDONYM_SYSTEM, "value": session.patient_id}},
        "effectiveDateTime": iso_utc(t),
        "device": device_ref,
    }


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _note(res: dict[str, Any], readings: Sequence[Reading]) -> None:
    if any(r.quality is Quality.QUESTIONABLE for r in readings):
        flags = sorted({f.name for r in readings for f in type(r.flags) if f and f in r.flags and f.name})
        res["note"] = [{"text": "questionable: " + (", ".join(flags) or "device flagged the value")}]


def _simple(session: SessionRecord, devices: dict[str, DeviceRecord], r: Reading) -> dict[str, Any]:
    res = _base(session, devices, r.source, r.t, r.channel)
    res["code"] = {"coding": _codes(r.channel), "text": CHANNELS[r.channel].description}
    res["valueQuantity"] = _quantity(r)
    _note(res, [r])
    return _entry(res)


def _bp_panel(
    session: SessionRecord, devices: dict[str, DeviceRecord], source: str, t: float, sys: Reading, dia: Reading
) -> dict[str, Any]:
    loinc, display, mdc, mdc_name = BP_PANEL
    res = _base(session, devices, source, t, "bp")
    res["code"] = {"coding": [_coding(LOINC, loinc, display), _coding(MDC, mdc, mdc_name)], "text": "Blood pressure"}
    res["component"] = [
        {"code": {"coding": _codes(r.channel), "text": CHANNELS[r.channel].description}, "valueQuantity": _quantity(r)}
        for r in (sys, dia)
    ]
    _note(res, [sys, dia])
    return _entry(res)
