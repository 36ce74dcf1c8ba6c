"""The one channel registry: every signal the monitor knows, with its codes and display rules.

Codes are database keys: short, lowercase ASCII, never renamed. LOINC, IEEE 11073 MDC and UCUM from
``shared/reference/clinical.md`` §6 and ``protocols.md`` §4 (invasive arterial LOINC from the FHIR
vital-signs value set). Display ranges are fixed clinical scales so a trend never rescales under the
nurse's eyes. Plausibility ranges (``Plausible``) say which values a patient can have at all, each with
its source; ``temp`` and ``cuff`` have none yet (no sourced number, and no definitional bound that would
catch anything), waveforms are not range-checked.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Final


class ChannelKind(enum.Enum):
    NUMERIC = "numeric"  # quasi-continuous, ~1 Hz (SpO2, pulse rate)
    EPISODIC = "episodic"  # one value per measurement cycle, ages on screen (NIBP)
    WAVEFORM = "waveform"  # sampled signal travelling as WaveformBlocks (pleth, ECG)


@dataclass(frozen=True, slots=True)
class Plausible:
    """The values a patient can have on a channel: outside them a number is a device or transmission
    fault (random bytes, a bit flip, a wrong SFLOAT), never shown and never alarmed on (issue 13).

    Only definitional bounds and measuring ranges quoted from device specifications: a bound that
    is too tight would turn a real extreme value into a technical notice, so where no source gives
    a number the side stays open (±inf) and ``source`` says so.
    """

    low: float
    high: float
    source: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def text(self, unit: str) -> str:
        """'0–100 %', '≥ 0 mmHg': for the technical alarm's message."""
        unit = unit.replace("[", "").replace("]", "")
        if math.isinf(self.high):
            return f"≥ {self.low:g} {unit}"
        return f"{self.low:g}–{self.high:g} {unit}"


_SPO2: Final = Plausible(0.0, 100.0, "definitional: a saturation is a share of the haemoglobin, 0–100 %")
_RATE: Final = Plausible(
    0.0,
    254.0,
    "low 0 definitional (a rate is not negative; no device lower range is used, so a real bradycardia "
    "below an oximeter's measuring range still alarms); high 254 /min: the Contec CMS50 pulse-oximeter "
    "protocol V7.0 reports PR 0–254 (protocols.md §2.1), above the Datascope Accutorr's own 'PR > 250' "
    "out-of-range status (protocols.md §3.1); HR and PR are the same quantity (LOINC 8867-4, clinical.md §6)",
)
_PRESSURE: Final = Plausible(
    0.0,
    math.inf,
    "low 0 mmHg definitional (a blood pressure is a gauge pressure above the atmosphere); no upper "
    "bound: neither clinical.md nor protocols.md quotes an NIBP or arterial measuring range",
)
_RESP: Final = Plausible(
    0.0,
    math.inf,
    "low 0 definitional (a rate is not negative); no upper bound: no respiratory-rate measuring range in "
    "clinical.md or protocols.md",
)


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    code: str
    label: str
    ucum: str
    loinc: str | None
    mdc: int | None
    display_range: tuple[float, float]
    decimals: int
    kind: ChannelKind
    description: str
    plausible: Plausible | None = None  # None: nothing checked (waveforms, channels without a bound)


CHANNELS: Final[dict[str, ChannelSpec]] = {
    c.code: c
    for c in (
        ChannelSpec("hr", "HR", "/min", "8867-4", 147842, (0, 200), 0, ChannelKind.NUMERIC, "Heart rate (ECG)", _RATE),
        ChannelSpec("pr", "PR", "/min", "8867-4", 149530, (0, 200), 0, ChannelKind.NUMERIC, "Pulse rate (pulse oximeter)", _RATE),
        ChannelSpec(
            "spo2",
            "SpO₂",
            "%",
            "59408-5",
            150456,
            (50, 100),
            0,
            ChannelKind.NUMERIC,
            "Oxygen saturation by pulse oximetry",
            _SPO2,
        ),
        ChannelSpec(
            "nibp_sys",
            "NIBP sys",
            "mm[Hg]",
            "8480-6",
            150021,
            (40, 240),
            0,
            ChannelKind.EPISODIC,
            "Non-invasive BP, systolic",
            _PRESSURE,
        ),
        ChannelSpec(
            "nibp_dia",
            "NIBP dia",
            "mm[Hg]",
            "8462-4",
            150022,
            (40, 240),
            0,
            ChannelKind.EPISODIC,
            "Non-invasive BP, diastolic",
            _PRESSURE,
        ),
        ChannelSpec(
            "nibp_map",
            "NIBP mean",
            "mm[Hg]",
            "8478-0",
            150023,
            (40, 240),
            0,
            ChannelKind.EPISODIC,
            "Non-invasive BP, mean",
            _PRESSURE,
        ),
        ChannelSpec(
            "abp_sys",
            "ART sys",
            "mm[Hg]",
            "76215-3",
            150033,
            (40, 240),
            0,
            ChannelKind.NUMERIC,
            "Arterial BP (continuous), systolic",
            _PRESSURE,
        ),
        ChannelSpec(
            "abp_dia",
            "ART dia",
            "mm[Hg]",
            "76213-8",
            150034,
            (40, 240),
            0,
            ChannelKind.NUMERIC,
            "Arterial BP (continuous), diastolic",
            _PRESSURE,
        ),
        ChannelSpec(
            "abp_map",
            "ART mean",
            "mm[Hg]",
            "76214-6",
            150035,
            (40, 240),
            0,
            ChannelKind.NUMERIC,
            "Arterial BP (continuous), mean",
            _PRESSURE,
        ),
        ChannelSpec("rr", "RR", "/min", "9279-1", 151562, (0, 40), 0, ChannelKind.NUMERIC, "Respiratory rate", _RESP),
        ChannelSpec("temp", "Temp", "Cel", "8310-5", 150344, (30, 42), 1, ChannelKind.NUMERIC, "Body temperature"),
        ChannelSpec("pleth", "Pleth", "1", None, 150452, (0, 1), 2, ChannelKind.WAVEFORM, "Plethysmogram (normalised)"),
        ChannelSpec("ecg_ii", "ECG II", "mV", None, 131330, (-2, 2), 2, ChannelKind.WAVEFORM, "ECG lead II"),
        ChannelSpec("abp", "ART", "mm[Hg]", None, 150036, (0, 240), 0, ChannelKind.WAVEFORM, "Arterial pressure waveform"),
        # Live NIBP cuff pressure, sent only while the cuff measures (BLE 0x2A36): EPISODIC, so its silence
        # between measurements is not "no data". MDC 150300 MDC_PRESS_CUFF: inferred from 150301
        # MDC_PRESS_CUFF_SYS in open-source HL7 examples, not checked against 11073-10101.
        ChannelSpec(
            "cuff",
            "Cuff",
            "mm[Hg]",
            None,
            150300,
            (0, 300),
            0,
            ChannelKind.EPISODIC,
            "NIBP cuff pressure (live, while measuring)",
        ),
    )
}

NIBP_CHANNELS: Final = ("nibp_sys", "nibp_dia", "nibp_map")
TREND_CHANNELS: Final = tuple(c for c, s in CHANNELS.items() if s.kind is not ChannelKind.WAVEFORM)
WAVEFORM_CHANNELS: Final = tuple(c for c, s in CHANNELS.items() if s.kind is ChannelKind.WAVEFORM)


def spec(code: str) -> ChannelSpec:
    """The registry entry for ``code``; a clear error for a code nobody registered."""
    try:
        return CHANNELS[code]
    except KeyError:
        raise KeyError(f"unknown channel code {code!r}; known: {', '.join(CHANNELS)}") from None


def implausible(code: str, value: float) -> str | None:
    """Why ``value`` cannot be a real value of channel ``code`` ("outside 0–100 %"), None when it can
    be (or the channel has no range). NaN is "no value", not implausible."""
    p = CHANNELS[code].plausible
    if p is None or value != value or p.contains(value):
        return None
    return f"outside {p.text(CHANNELS[code].ucum)}"


def format_value(code: str, value: float) -> str:
    """The value as the dashboard and exports show it: the channel's decimals, '--' for no value."""
    if value != value:  # NaN
        return "--"
    return f"{value:.{CHANNELS[code].decimals}f}"
