"""``session-monitor export --format csv``: the session's numbers in tidy long format, one row per
value, for R / pandas / a spreadsheet.

Columns (header row first):

``time``            ISO-8601 UTC, millisecond precision (``2027-01-15T08:00:00.250Z``)
``minutes_from_t0`` minutes after the first dose (negative before it; empty if there was no dose)
``channel``         channel code (``spo2``, ``nibp_sys``, ...; see the channel registry), or
                    ``moaas`` / ``cadss_total`` for the clinician's scores
``value``           the value; empty when the device gave none (INVALID)
``unit``            UCUM unit (``%``, ``/min``, ``mm[Hg]``; ``{score}`` for the scores)
``quality``         ``OK``, ``QUESTIONABLE`` or ``INVALID``
``source``          the device (``sim:oximeter``, ``serial:ttyUSB0``, ...) or ``observation:<author>``
``flags``           why a value is not plainly OK, ``|``-separated (``PROBE_OFF|ARTEFACT``); empty if none

Waveforms are not included (a 75 Hz pleth is 270,000 rows an hour): use ``--format edf``.
Scores are the current versions (amendments applied).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from typing import Final, TextIO

from monitor.obs_kinds import SCALES
from monitor.readings import Flag, Reading
from recordings.database import Database
from recordings.export import iso_utc
from recordings.observation_export import observation_log
from recordings.reader import RecordingReader

COLUMNS: Final = ("time", "minutes_from_t0", "channel", "value", "unit", "quality", "source", "flags")
SCORE_UNIT: Final = "{score}"


def write_csv(db: Database, ref: int | str, out: TextIO) -> int:
    """Write session ``ref`` as CSV to ``out``; returns the number of data rows."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for row in csv_rows(db, ref):
        w.writerow(row)
        n += 1
    return n


def csv_rows(db: Database, ref: int | str) -> Iterator[tuple[str, ...]]:
    """The data rows in time order (readings and scores interleaved)."""
    reader = RecordingReader(db)
    session = reader.session(ref)
    t0 = session.t0
    rows: list[tuple[float, tuple[str, ...]]] = [(r.t, _reading_row(r, t0)) for r in reader.readings(session.id)]
    for o in observation_log(reader.events(session.id)).current():
        spec = SCALES.get(o.kind)
        if spec is not None and spec.csv_channel is not None:
            rows.append((o.t, _score_row(o.t, t0, spec.csv_channel, o.data[spec.value_field], o.author)))
    rows.sort(key=lambda tr: tr[0])
    for _, row in rows:
        yield row


def _minutes(t: float, t0: float | None) -> str:
    return "" if t0 is None else f"{(t - t0) / 60.0:.4f}"


def _reading_row(r: Reading, t0: float | None) -> tuple[str, ...]:
    value = "" if not math.isfinite(r.value) else _value_text(r)
    flags = "|".join(f.name for f in Flag if f and f in r.flags and f.name is not None)
    return (iso_utc(r.t) or "", _minutes(r.t, t0), r.channel, value, r.unit, r.quality.name, r.source, flags)


def _value_text(r: Reading) -> str:
    """The stored value exactly (shortest round-tripping decimal), without a spurious ``.0`` (120)."""
    text = repr(float(r.value))
    return text[:-2] if text.endswith(".0") else text


def _score_row(t: float, t0: float | None, channel: str, value: int, author: str) -> tuple[str, ...]:
    return (iso_utc(t) or "", _minutes(t, t0), channel, str(int(value)), SCORE_UNIT, "OK", f"observation:{author}", "")
