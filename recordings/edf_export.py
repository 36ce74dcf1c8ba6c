"""``session-monitor export --format edf``: the session as EDF+ (pyedflib), for EDF viewers and
signal-analysis tools.

Layout and the choices EDF forces on us:

* Data records of 1 s. Start time = the first data second (whole seconds; EDF+ header time).
* One signal per (channel, device): label = the EDF+ signal label of ``EDF_LABELS`` (``SpO2``,
  ``NIBP sys``, ``Pleth``; `` 2``, `` 3`` appended if two devices give the same channel), transducer
  = the device source, physical dimension = the EDF+ spelling of the unit (``EDF_DIMENSIONS``:
  ``mmHg`` not UCUM ``mm[Hg]``, ``a.u.`` for the normalised pleth). EDF+ (https://www.edfplus.info/
  specs/edfplus.html, "Standard texts") names a signal by its type and keeps labels within 16 and
  dimensions within 8 ASCII characters; EDFbrowser and MNE show these fields as they are.
* Numeric (~1 Hz) channels at 1 Hz: the last valid value received in each second. A value may fill
  the one following empty second (receive jitter); longer silences are gaps.
* Episodic channels (NIBP) at 1 Hz, each cuff value held until the next cuff cycle (that is what
  the monitor showed); every cycle is also an annotation ``NIBP sys/dia``.
* Waveforms (pleth, ...) at their own rate (must be a whole number of samples per second).
* **Gaps: EDF has no NaN.** A gap is written as the digital minimum (-32768); the physical minimum
  is set 1 unit below anything the channel can hold, so ``value == physical_min`` means "no data"
  and can never be a measurement. A reader must mask those samples (``GAP_DIGITAL``). Device link
  gaps are also annotations ``gap <source>`` with their duration.
* Events are EDF+ annotations: the dose (``t0 dose``), observations (MOAA/S, CADSS, doses,
  interventions, ...), alarm transitions (``alarm raised HIGH spo2_low``), session start and end.
  EDF+ annotations are limited to 40 characters here (edflib), so long texts are cut.
* The patient field holds the pseudonym only (EDF+ "patient code"), never a name. EDF+ has no
  spaces in header subfields and EDF+ readers show every '_' as a space, so ``PT_007`` reads back
  as ``PT 007`` (pseudonyms never contain spaces, so the mapping is reversible).
"""

from __future__ import annotations

import logging
import math
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyedflib

from monitor.channels import CHANNELS, ChannelKind
from monitor.events import EventKind, SessionEvent
from monitor.observations import describe as describe_observation
from monitor.readings import Reading, WaveformBlock
from monitor.summary import device_gaps
from recordings.atomic import ExportWriteError, write_atomically
from recordings.database import Database
from recordings.observation_export import observation_log
from recordings.reader import RecordingReader, SessionRecord

_log = logging.getLogger(__name__)

DIGITAL_MIN: Final = -32768
DIGITAL_MAX: Final = 32767
GAP_DIGITAL: Final = DIGITAL_MIN  # the "no data" sentinel (see module docstring)
ANNOTATION_MAX: Final = 40
JITTER_FILL_S: Final = 1  # a 1 Hz value may fill this many following empty seconds
_ALARM_TRANSITIONS: Final = frozenset({"raised", "escalated", "acknowledged", "cleared", "paused", "resumed", "latched"})


#: EDF+ signal label per channel (≤ 16 ASCII characters): the monitor's own on-screen labels,
#: ASCII ("SpO2", not "SpO₂"). The live cuff pressure is not exported.
EDF_LABELS: Final = {
    "hr": "HR",
    "pr": "PR",
    "spo2": "SpO2",
    "nibp_sys": "NIBP sys",
    "nibp_dia": "NIBP dia",
    "nibp_map": "NIBP mean",
    "abp_sys": "ART sys",
    "abp_dia": "ART dia",
    "abp_map": "ART mean",
    "rr": "RR",
    "temp": "Temp",
    "pleth": "Pleth",
    "ecg_ii": "ECG II",
    "abp": "ART",
}
#: EDF+ physical dimension per UCUM unit (≤ 8 ASCII characters); units not listed are written as
#: they are ("%", "/min", "mV"). "a.u.": arbitrary units, for the normalised (unitless) pleth.
EDF_DIMENSIONS: Final = {"mm[Hg]": "mmHg", "Cel": "degC", "1": "a.u."}
LABEL_MAX: Final = 16
DIMENSION_MAX: Final = 8


@dataclass(slots=True)
class _Signal:
    channel: str
    label: str
    unit: str
    source: str
    fs: int
    values: np.ndarray  # physical values, NaN = gap


def export_edf(db: Database, ref: int | str, path: str | Path) -> None:
    """Write session ``ref`` as EDF+ to ``path`` atomically; ``StorageError`` if there is no such
    session, ``ExportWriteError`` if it cannot be written or holds no data."""
    reader = RecordingReader(db)
    session = reader.session(ref)
    readings = reader.readings(session.id)
    waveforms = reader.waveforms(session.id)
    events = reader.events(session.id)
    write_atomically(path, lambda tmp: write_edf(tmp, session, readings, waveforms, events))


def write_edf(
    path: Path,
    session: SessionRecord,
    readings: Sequence[Reading],
    waveforms: Sequence[WaveformBlock],
    events: Sequence[SessionEvent],
) -> None:
    """Write already-loaded data as EDF+ to ``path`` (not atomically: see ``export_edf``)."""
    times = [r.t for r in readings] + [w.t0 for w in waveforms] + [w.t_end for w in waveforms]
    if not times:
        raise ExportWriteError(f"session {session.id} has no readings or waveforms: there is nothing to write as EDF")
    start = math.floor(min(times))
    end = max(max(times), session.ended or 0.0)
    n_rec = max(1, math.ceil(end - start + 1e-9))
    signals = _numeric_signals(readings, start, n_rec) + _waveform_signals(waveforms, start, n_rec)
    annotations = _annotations(session, readings, events, start, end)

    writer = _open(path, len(signals))
    try:
        writer.setPatientCode(_field(session.patient_id))
        writer.setTechnician(_field(session.clinician))
        writer.setEquipment("session-monitor")
        writer.setRecordingAdditional(_field(f"session {session.id} {session.protocol.value}"))
        writer.setStartdatetime(datetime.fromtimestamp(start, tz=UTC).replace(tzinfo=None))
        slots = math.ceil(len(annotations) / n_rec) + 1
        writer.set_number_of_annotation_signals(min(64, max(1, slots)))
        digital = []
        for i, sig in enumerate(signals):
            pmin, pmax = _physical_range(sig)
            writer.setSignalHeader(
                i,
                {
                    "label": sig.label,
                    "dimension": sig.unit,
                    "sample_frequency": sig.fs,
                    "physical_min": pmin,
                    "physical_max": pmax,
                    "digital_min": DIGITAL_MIN,
                    "digital_max": DIGITAL_MAX,
                    "transducer": _field(sig.source),
                    "prefilter": "",
                },
            )
            digital.append(_to_digital(sig.values, pmin, pmax))
        for onset, duration, text in annotations:
            writer.writeAnnotation(onset, duration, text)
        writer.writeSamples(digital, digital=True)
    finally:
        writer.close()


def _open(path: Path, n: int) -> Any:
    try:
        return pyedflib.EdfWriter(os.fspath(path), n, file_type=pyedflib.FILETYPE_EDFPLUS)
    except OSError:
        raise
    except Exception as exc:  # pyedflib reports an unopenable file as a plain exception
        raise OSError(str(exc)) from exc


def _numeric_signals(readings: Sequence[Reading], start: float, n_rec: int) -> list[_Signal]:
    by_key: dict[tuple[str, str], list[Reading]] = {}
    for r in readings:
        if CHANNELS[r.channel].kind is not ChannelKind.WAVEFORM and r.channel != "cuff":
            by_key.setdefault((r.channel, r.source), []).append(r)
    out = []
    for (channel, source), rs in sorted(by_key.items()):
        episodic = CHANNELS[channel].kind is ChannelKind.EPISODIC
        values = np.full(n_rec, np.nan)
        last_valid = np.full(n_rec, False)
        for r in rs:  # time order: the last value of a second wins
            i = math.floor(r.t - start)
            if 0 <= i < n_rec:
                values[i] = r.value if r.valid else np.nan
                last_valid[i] = True
        _fill(values, last_valid, hold=None if episodic else JITTER_FILL_S)
        out.append(_signal(channel, source, 1, values))
    return _unique_labels(out)


def _fill(values: np.ndarray, present: np.ndarray, hold: int | None) -> None:
    """Carry each value into following empty seconds: until the next reading (``hold=None``, cuff)
    or at most ``hold`` seconds (1 Hz jitter). An INVALID reading is present and stops the carry."""
    last = math.nan
    age = 0
    for i in range(len(values)):
        if present[i]:
            last, age = values[i], 0
        else:
            age += 1
            if hold is None or age <= hold:
                values[i] = last


def _waveform_signals(blocks: Sequence[WaveformBlock], start: float, n_rec: int) -> list[_Signal]:
    by_key: dict[tuple[str, str], list[WaveformBlock]] = {}
    for b in blocks:
        by_key.setdefault((b.channel, b.source), []).append(b)
    out = []
    for (channel, source), bs in sorted(by_key.items()):
        fs = bs[0].fs
        if abs(fs - round(fs)) > 1e-9:
            _log.warning("EDF export: %s %s at %s Hz is not a whole number of samples per second; left out", source, channel, fs)
            continue
        n = round(fs) * n_rec
        values = np.full(n, np.nan)
        for b in bs:
            if b.fs != fs:
                continue
            i0 = round((b.t0 - start) * fs)
            lo, hi = max(i0, 0), min(i0 + b.n, n)
            if hi > lo:
                values[lo:hi] = b.samples[lo - i0 : hi - i0]
        out.append(_signal(channel, source, round(fs), values))
    return _unique_labels(out)


def _signal(channel: str, source: str, fs: int, values: np.ndarray) -> _Signal:
    unit = CHANNELS[channel].ucum
    return _Signal(channel, EDF_LABELS[channel], EDF_DIMENSIONS.get(unit, unit), source, fs, values)


def _unique_labels(signals: list[_Signal]) -> list[_Signal]:
    """A second device of the same channel reads "SpO2 2" (a readable suffix, not an internal id)."""
    seen: dict[str, int] = {}
    for s in signals:
        seen[s.label] = seen.get(s.label, 0) + 1
        if seen[s.label] > 1:
            s.label = f"{s.label} {seen[s.label]}"
        if len(s.label) > LABEL_MAX or not s.label.isascii() or len(s.unit) > DIMENSION_MAX or not s.unit.isascii():
            raise ExportWriteError(
                f"EDF signal label {s.label!r} / dimension {s.unit!r} do not fit EDF+ (16 / 8 ASCII characters)"
            )
    return signals


def _physical_range(sig: _Signal) -> tuple[float, float]:
    """Whole numbers (the EDF header keeps 8 characters); the minimum is 1 unit below the lowest
    value the channel can hold, so the gap sentinel is never a measurement."""
    lo, hi = CHANNELS[sig.channel].display_range
    finite = sig.values[np.isfinite(sig.values)]
    if finite.size:
        lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    return float(math.floor(lo) - 1), float(math.ceil(hi) if math.ceil(hi) > math.floor(lo) else math.floor(lo) + 1)


def _to_digital(values: np.ndarray, pmin: float, pmax: float) -> np.ndarray:
    """Physical values to int32 digital values; NaN (a gap) to the sentinel. Values map into
    ``DIGITAL_MIN + 1 ..`` upwards, never onto the sentinel."""
    scale = (DIGITAL_MAX - DIGITAL_MIN) / (pmax - pmin)
    d: np.ndarray = np.round((np.nan_to_num(values, nan=pmin) - pmin) * scale + DIGITAL_MIN)
    d = np.clip(d, DIGITAL_MIN + 1, DIGITAL_MAX)
    d[~np.isfinite(values)] = GAP_DIGITAL
    return d.astype(np.int32)


def _annotations(
    session: SessionRecord, readings: Sequence[Reading], events: Sequence[SessionEvent], start: float, end: float
) -> list[tuple[float, float, str]]:
    out: list[tuple[float, float, str]] = []

    def add(t: float, text: str, duration: float = -1.0) -> None:
        out.append((min(max(t - start, 0.0), end - start), duration, _ascii(text, ANNOTATION_MAX)))

    for e in events:
        if e.kind is EventKind.SESSION_STARTED:
            add(e.t, "session started")
        elif e.kind is EventKind.DOSE_GIVEN:
            add(e.t, "t0 dose")
        elif e.kind is EventKind.SESSION_ENDED:
            add(e.t, f"session ended: {e.data.get('reason', '')}")
        elif e.kind is EventKind.ALARM and e.data.get("transition") in _ALARM_TRANSITIONS:
            d = e.data
            add(e.t, " ".join(str(x) for x in ("alarm", d.get("transition"), d.get("priority") or "", d.get("key") or "") if x))
    for o in observation_log(events).current():
        add(o.t, describe_observation(o))
    cuff: dict[tuple[str, float], dict[str, float]] = {}
    for r in readings:
        if r.channel in ("nibp_sys", "nibp_dia") and r.valid:
            cuff.setdefault((r.source, r.t), {})[r.channel] = r.value
    for (_, t), v in sorted(cuff.items(), key=lambda kv: kv[0][1]):
        if len(v) == 2:
            add(t, f"NIBP {v['nibp_sys']:.0f}/{v['nibp_dia']:.0f}")
    for source, g in device_gaps([], events, end).items():
        for a, b in g.link_gaps:
            add(a, f"gap {source}", duration=b - a)
    out.sort(key=lambda a: a[0])
    return out


def _ascii(text: str, limit: int) -> str:
    """EDF headers are ASCII and edflib caps annotation length: SpO₂ -> SpO2, ≤ -> <=, then cut."""
    text = text.replace("≤", "<=").replace("≥", ">=").replace("–", "-").replace("—", "-")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text[:limit]


def _field(text: str, limit: int = 60) -> str:
    """An EDF+ header subfield: ASCII without spaces (EDF+ spec: spaces become '_')."""
    return _ascii(text, limit).replace(" ", "_")
