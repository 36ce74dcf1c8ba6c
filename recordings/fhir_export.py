"""``session-monitor export --format fhir``: the session's vital signs as a FHIR R4 Bundle
(type ``collection``) of vital-signs ``Observation`` resources (clinical.md requirement 33, §6), shaped
so an EHR or FHIR server can take a 4-hour session whole.

Built by hand as plain JSON, so the program needs no FHIR library at run time (the tests validate
the output with ``fhir.resources``). Choices (FHIR R4 observation-vitalsigns,
https://hl7.org/fhir/R4/observation-vitalsigns.html, and SampledData,
https://hl7.org/fhir/R4/datatypes.html#SampledData):

* **Episodic values are one Observation each**: a cuff cycle (systolic and diastolic from the same
  device at the same time) is one 85354-9 blood pressure panel with 8480-6 / 8462-4 components and,
  if the cycle gave one, an 8478-0 mean component (https://hl7.org/fhir/R4/bp.html). A systolic or
  diastolic without its partner, or a mean alone, is a single Observation with its own code. Manual
  entries (source ``manual``) are spot values: one Observation each, BP as a panel.
* **Continuous series are SampledData**: each (device, channel) of a quasi-continuous channel (SpO2,
  pulse rate, RR, ...) becomes one Observation per ``WINDOW_S`` window, ``effectivePeriod`` = the
  window, ``valueSampledData`` on a 1 s grid (``period`` 1000 ms, ``dimensions`` 1): sample i is the
  last valid reading in second i, ``origin`` 0 in the channel's UCUM unit and ``factor`` = the
  channel's display resolution (``data`` are integers). A second without a valid reading (INVALID,
  probe off, link lost, device slower than 1 Hz) is ``E``. No ``L``/``U`` samples are written, so
  lowerLimit/upperLimit (detection limits, which we do not know per device) are left out. A window
  with no valid sample is not exported. The base vital-signs profile allows SampledData; the
  specific profiles (heartrate, oxygensat) take ``valueQuantity``, so the series do not claim them.
* Codes: LOINC and IEEE 11073 MDC codings of the channel; SpO2 carries both 59408-5 (by pulse
  oximetry) and 2708-6; the oximeter's pulse rate is LOINC 8889-8 "Heart rate by Pulse oximetry"
  (https://loinc.org/8889-8/) with 8867-4 after it, which the R4 heart-rate profile requires and to
  which it allows more specific codes to be added (https://hl7.org/fhir/R4/heartrate.html).
* ``subject`` is a logical reference to the pseudonymous Patient (identifier only, never a name);
  ``device`` is a logical reference by the device's source id.
* QUESTIONABLE readings are exported with a note in ``note`` (for a window: how many samples).
* Channels without a LOINC code (live cuff pressure, waveforms) are not exported.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any, Final

from monitor.channels import CHANNELS, NIBP_CHANNELS, ChannelKind
from monitor.core import MANUAL_SOURCE
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
#: LOINC 8889-8 (https://loinc.org/8889-8/), the pulse rate an oximeter measures (issue 14).
PULSE_OXIMETRY_RATE: Final = ("8889-8", "Heart rate by Pulse oximetry")
#: One SampledData Observation per this many seconds of a continuous series (5 min: a 4-hour
#: session is ~50 resources per channel, each a few kB).
WINDOW_S: Final = 300
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
    series: dict[tuple[str, str], list[Reading]] = {}
    for r in readings:
        if CHANNELS[r.channel].loinc is None:
            continue
        if _is_episodic(r):
            if r.valid and math.isfinite(r.value):
                cuff.setdefault((r.source, r.t), {})[r.channel] = r
        else:
            series.setdefault((r.source, r.channel), []).append(r)
    for (source, t), group in cuff.items():
        entries.extend(_episodic(session, devices, source, t, group))
    for (source, channel), rs in sorted(series.items()):
        entries.extend(_windows(session, devices, source, channel, rs))
    entries.sort(key=lambda e: _start(e["resource"]))
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NS, f"session:{session.id}:{session.started!r}")),
        "type": "collection",
        "timestamp": iso_utc(session.ended if session.ended is not None else session.started),
        "entry": entries,
    }


def _is_episodic(r: Reading) -> bool:
    return r.source == MANUAL_SOURCE or CHANNELS[r.channel].kind is not ChannelKind.NUMERIC


def _start(res: dict[str, Any]) -> str:
    return str(res.get("effectiveDateTime") or res["effectivePeriod"]["start"])


def _episodic(
    session: SessionRecord, devices: dict[str, DeviceRecord], source: str, t: float, group: dict[str, Reading]
) -> list[dict[str, Any]]:
    """One cuff cycle or one manual entry: a BP panel if it has systolic and diastolic, else singles."""
    if "nibp_sys" in group and "nibp_dia" in group:
        parts = [group.pop(c) for c in NIBP_CHANNELS if c in group]
        return [_bp_panel(session, devices, source, t, parts)] + [_simple(session, devices, r) for r in group.values()]
    return [_simple(session, devices, r) for r in group.values()]


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
    if channel == "pr":  # the oximeter's pulse rate: 8889-8 first, then the profile's 8867-4 (module docstring)
        codings = [_coding(LOINC, *PULSE_OXIMETRY_RATE), _coding(LOINC, spec.loinc or "", "Heart rate")]
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
    session: SessionRecord, devices: dict[str, DeviceRecord], source: str, t: float, parts: list[Reading]
) -> dict[str, Any]:
    loinc, display, mdc, mdc_name = BP_PANEL
    res = _base(session, devices, source, t, "bp")
    res["code"] = {"coding": [_coding(LOINC, loinc, display), _coding(MDC, mdc, mdc_name)], "text": "Blood pressure"}
    res["component"] = [
        {"code": {"coding": _codes(r.channel), "text": CHANNELS[r.channel].description}, "valueQuantity": _quantity(r)}
        for r in parts
    ]
    _note(res, parts)
    return _entry(res)


def _windows(
    session: SessionRecord, devices: dict[str, DeviceRecord], source: str, channel: str, rs: Sequence[Reading]
) -> list[dict[str, Any]]:
    """A continuous series as one SampledData Observation per ``WINDOW_S`` (see the module docstring)."""
    spec = CHANNELS[channel]
    factor = 10.0**-spec.decimals
    first = math.floor(min(r.t for r in rs))
    last = math.floor(max(r.t for r in rs))
    by_second: dict[int, Reading] = {}
    for r in rs:  # time order: the last valid reading of a second wins
        if r.valid and math.isfinite(r.value):
            by_second[math.floor(r.t) - first] = r
    out = []
    for w0 in range(0, last - first + 1, WINDOW_S):
        n = min(WINDOW_S, last - first + 1 - w0)
        samples = [by_second.get(w0 + i) for i in range(n)]
        if not any(samples):
            continue
        start = float(first + w0)
        res = _base(session, devices, source, start, f"{channel}:window")
        del res["effectiveDateTime"]
        res["effectivePeriod"] = {"start": iso_utc(start), "end": iso_utc(start + n)}
        res["code"] = {"coding": _codes(channel), "text": spec.description}
        res["valueSampledData"] = {
            "origin": {"value": 0, "unit": spec.ucum, "system": UCUM, "code": spec.ucum},
            "period": 1000,
            "factor": factor,
            "dimensions": 1,
            "data": " ".join("E" if r is None else str(round(r.value / factor)) for r in samples),
        }
        present = [r for r in samples if r is not None]
        questionable = [r for r in present if r.quality is Quality.QUESTIONABLE]
        if questionable:
            _note(res, questionable)
            res["note"][0]["text"] = f"{len(questionable)} of {len(present)} samples " + res["note"][0]["text"]
        out.append(_entry(res))
    return out
