"""One descriptor per observation scale (MOAA/S, CADSS, RASS): everything the rest of the program
needs to know about a scale beyond its dialog and its validation (``monitor.instruments``).

A new scale is an ``ObsKind`` member, a builder in ``monitor.observations``, a dialog in
``ui.observation_dialogs`` (``DIALOG_FOR``) and one ``ScaleSpec`` here; the observation panel's
button, the CSV export, the session summary and the alarm feed read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from monitor.observations import ObsKind


@dataclass(frozen=True, slots=True)
class ScaleSummary:
    """How the session summary condenses a scale: its post-dose extreme."""

    key: str  # field of the summary's JSON record, e.g. "peak_cadss" (never renamed: exported)
    label: str  # line in the summary, e.g. "Peak CADSS"
    highest: bool  # True: the highest value counts (CADSS peak); False: the lowest (MOAA/S nadir)


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    kind: ObsKind
    label: str  # "MOAA/S": button text
    hotkey: str  # the observation panel's shortcut, e.g. "F3"
    value_field: str  # the number in ``Observation.data``: "score" or "total"
    csv_channel: str | None = None  # channel code of its rows in the CSV export (None: not exported as rows)
    alarm_channel: str | None = None  # observation channel fed to the alarm engine (``alarms.rules.OBSERVATIONS``)
    summary: ScaleSummary | None = None  # None: not in the session summary

    @property
    def key(self) -> str:
        """The stored value of its ``ObsKind`` (``"moaas"``), also the panel's action name."""
        return self.kind.value


#: In the order the summary, the CSV and the course list them; the panel orders its buttons by hotkey.
SCALES: Final[dict[ObsKind, ScaleSpec]] = {
    s.kind: s
    for s in (
        ScaleSpec(
            ObsKind.CADSS,
            "CADSS",
            "F4",
            "total",
            csv_channel="cadss_total",
            summary=ScaleSummary("peak_cadss", "Peak CADSS", True),
        ),
        ScaleSpec(
            ObsKind.MOAAS,
            "MOAA/S",
            "F3",
            "score",
            csv_channel="moaas",
            alarm_channel="moaas",
            summary=ScaleSummary("lowest_moaas", "Lowest MOAA/S", False),
        ),
        ScaleSpec(ObsKind.RASS, "RASS", "F5", "score"),
    )
}
#: The same, by the action name / stored value ("moaas").
SCALE_BY_KEY: Final[dict[str, ScaleSpec]] = {s.key: s for s in SCALES.values()}
