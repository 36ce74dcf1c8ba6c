"""The plain data of a printed session report: what ``ui.report`` draws, filled by ``recordings.report``.

Everything is already formatted for print (strings, minutes from t0), so the renderer makes no
clinical decisions and needs no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ReportSeries:
    """One trend line: ``values[i]`` at ``minutes[i]`` from t0 (NaN = no value: a gap)."""

    label: str
    unit: str
    minutes: tuple[float, ...]
    values: tuple[float, ...]
    color: str  # "#rrggbb"
    markers: bool = False  # episodic values (cuff BP) drawn as points joined by lines


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One line of the alarm or observation table."""

    minute: str  # minutes from t0 as printed ("+12.5", "-3.0"), or "" before a dose
    time: str  # clock time, UTC
    text: str
    who: str = ""


@dataclass(frozen=True, slots=True)
class SignatureLine:
    """One signature as printed (11.50: printed name, date and time, meaning) and its validity."""

    text: str
    valid: bool


@dataclass(frozen=True, slots=True)
class MonitoringFormSummary:
    """Spravato REMS-style Patient Monitoring Form fields, pre-filled from the recording (clinical.md §1.2)."""

    treatment_date: str
    dose: str  # total mg and devices
    lot: str
    bp_prior: str  # "sys/dia mmHg (minute)" or "not recorded"
    bp_40_min: str
    bp_before_completion: str
    total_minutes: str  # first administration to completion of monitoring
    ready_to_leave_minutes: str
    sedation: str  # "Yes" / "No" / "not assessed"
    dissociation: str
    due_by: str  # treatment date + 7 days


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything a session report shows."""

    session_id: int
    patient_id: str
    protocol: str
    clinician: str
    doses: tuple[str, ...]
    lots: tuple[str, ...]
    started: str
    t0: str
    discharge: str
    ended: str  # end time, or "interrupted (no end recorded)"
    total_minutes: str
    ready_to_leave_minute: str
    peak_bp: str  # "168/102 mmHg at +38.0 min" or "no BP recorded"
    series: tuple[ReportSeries, ...]
    alarms: tuple[ReportRow, ...]
    observations: tuple[ReportRow, ...]
    signatures: tuple[SignatureLine, ...]
    monitoring_form: MonitoringFormSummary | None  # Spravato sessions only
    generated: str
    checkpoints_min: tuple[float, ...] = field(default=())  # minutes from t0 to mark on the plot
    summary: tuple[tuple[str, str], ...] = field(default=())  # ``monitor.summary.summary_lines``
