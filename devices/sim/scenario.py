"""Simulated-patient scenarios: TOML files in ``devices/sim/scenarios/`` loaded into frozen dataclasses.

Scenarios are data, not code, so a clinician can check every number against its cited source
(``[sources]`` in each file) and a new scenario needs no programmer. Every file is validated on load:
a typo or an out-of-range number is a ``ConfigError`` naming the file and the field, never a
half-working simulation.

File format (all times relative to the anchor named in each part)::

    description = "..."                    # shown in the scenario picker
    [sources]                              # where the numbers come from (free text per topic)
    [baseline.<var>]   mean, noise_sd [, drift_sd, drift_period_s]      var: sbp dbp hr spo2 rr
    [drug.<var>]       peak_delta, time_to_peak_min, back_to_baseline_min [, onset_min]   (after t0)
    [nibp]             interval_min, cycle_s
    [oximeter]         reports_rr
    [demo]             dose_after_s
    [[events]]         kind = "physiology" | "artefact" | "probe_off" | "dropout", after = "dose" | "start",
                       start_min, then: physiology -> ramp_min, hold_min, recover_min, [deltas] var = change;
                       device events -> device = "oximeter" | "nibp", duration_s [, values.<channel> = [lo, hi]]
"""

from __future__ import annotations

import enum
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

#: The physiological variables a scenario describes (MAP is derived from sbp/dbp).
VARIABLES = ("sbp", "dbp", "hr", "spo2", "rr")
#: The devices a timed device event can target.
DEVICES = ("oximeter", "nibp")
#: Channels whose implausible artefact values a scenario may set, per device.
ARTEFACT_CHANNELS = {"oximeter": ("spo2", "pr", "rr"), "nibp": ("nibp_sys", "nibp_dia")}


class EventKind(enum.Enum):
    PHYSIOLOGY = "physiology"  # the patient changes (desaturation, RR falls): values stay OK quality
    ARTEFACT = "artefact"  # motion: QUESTIONABLE + ARTEFACT, implausible values
    PROBE_OFF = "probe_off"  # sensor off: INVALID + PROBE_OFF, pleth NaN
    DROPOUT = "dropout"  # device silent: nothing at all is delivered


class Anchor(enum.Enum):
    START = "start"  # minutes after the device started (session start)
    DOSE = "dose"  # minutes after t0; never happens while no dose is marked


@dataclass(frozen=True, slots=True)
class Baseline:
    mean: float
    noise_sd: float  # white noise per sample
    drift_sd: float = 0.0  # slow, smooth wander (knots every drift_period_s)
    drift_period_s: float = 60.0


@dataclass(frozen=True, slots=True)
class DrugEffect:
    """A smooth rise from t0 + onset to ``peak_delta`` at ``time_to_peak_min``, back to 0 at
    ``back_to_baseline_min`` (raised-cosine halves: no kinks, exactly 0 outside the window)."""

    peak_delta: float
    time_to_peak_min: float
    back_to_baseline_min: float
    onset_min: float = 0.0


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    kind: EventKind
    anchor: Anchor
    start_min: float
    label: str = ""
    # physiology events: trapezoid with smooth ramps
    ramp_min: float = 0.0
    hold_min: float = 0.0
    recover_min: float = 0.0
    deltas: Mapping[str, float] = field(default_factory=dict)
    # device events
    device: str | None = None
    duration_s: float = 0.0
    values: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def length_s(self) -> float:
        """How long the event lasts from its start."""
        if self.kind is EventKind.PHYSIOLOGY:
            return (self.ramp_min + self.hold_min + self.recover_min) * 60.0
        return self.duration_s


@dataclass(frozen=True, slots=True)
class NibpSchedule:
    interval_min: float
    cycle_s: float


@dataclass(frozen=True, slots=True)
class OximeterSettings:
    reports_rr: bool = True  # like oximeters with a pleth-derived respiratory rate


@dataclass(frozen=True, slots=True)
class DemoSettings:
    dose_after_s: float


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    path: Path
    sources: Mapping[str, str]
    baseline: Mapping[str, Baseline]
    drug: Mapping[str, DrugEffect]
    nibp: NibpSchedule
    oximeter: OximeterSettings
    demo: DemoSettings
    events: tuple[ScenarioEvent, ...]


def scenario_names() -> list[str]:
    """Names of the bundled scenarios, sorted (the file stems in ``devices/sim/scenarios``)."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load and validate a bundled scenario by name, or any scenario file by path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(f"scenario file not found: {path}")
    else:
        path = SCENARIO_DIR / f"{text}.toml"
        if not path.is_file():
            known = ", ".join(scenario_names())
            raise ConfigError(f"unknown scenario {text!r}; known scenarios: {known}")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"scenario file {path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"scenario file {path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}): save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"scenario file {path}: cannot be read: {exc}") from None
    return _Parser(path).scenario(data)


class _Parser:
    """Walks the TOML tree, checking types and ranges, so every error names file and field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"scenario file {self.path}: field '{where}' {problem}")

    # ---- primitives ------------------------------------------------------------------------
    def table(self, parent: Mapping[str, Any], key: str, where: str, required: bool = True) -> dict[str, Any]:
        value = parent.get(key)
        if value is None:
            if required:
                raise self.fail(where, "is missing")
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a table, got {value!r}")
        return value

    def only(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{where}.{key}" if where else key, f"is not a known field (known: {', '.join(allowed)})")

    def number(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        default: float | None = None,
        low: float | None = None,
        high: float | None = None,
        positive: bool = False,
    ) -> float:
        dotted = f"{where}.{key}" if where else key
        value = table.get(key)
        if value is None:
            if default is None:
                raise self.fail(dotted, "is missing")
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(dotted, f"must be a number, got {value!r}")
        v = float(value)
        if positive and not v > 0:
            raise self.fail(dotted, f"must be above 0, got {value!r}")
        if low is not None and v < low:
            raise self.fail(dotted, f"must be at least {low:g}, got {value!r}")
        if high is not None and v > high:
            raise self.fail(dotted, f"must be at most {high:g}, got {value!r}")
        return v

    def string(self, table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
        dotted = f"{where}.{key}" if where else key
        value = table.get(key, default)
        if value is None:
            raise self.fail(dotted, "is missing")
        if not isinstance(value, str):
            raise self.fail(dotted, f"must be text, got {value!r}")
        return value

    def choice(self, table: Mapping[str, Any], key: str, where: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = self.string(table, key, where, default)
        if value not in options:
            raise self.fail(f"{where}.{key}", f"must be one of {', '.join(options)}, got {value!r}")
        return value

    # ---- sections --------------------------------------------------------------------------
    def scenario(self, data: Mapping[str, Any]) -> Scenario:
        self.only(data, ("name", "description", "sources", "baseline", "drug", "nibp", "oximeter", "demo", "events"), "")
        name = self.string(data, "name", "", default=self.path.stem)
        description = self.string(data, "description", "").strip()
        if not description:
            raise self.fail("description", "must not be empty")
        sources_raw = self.table(data, "sources", "sources")
        if not sources_raw:
            raise self.fail("sources", "must cite where the numbers come from")
        sources = {k: self.string(sources_raw, k, "sources") for k in sources_raw}

        baseline = self.baseline(self.table(data, "baseline", "baseline"))
        drug = self.drug(self.table(data, "drug", "drug", required=False))

        nibp_raw = self.table(data, "nibp", "nibp")
        self.only(nibp_raw, ("interval_min", "cycle_s"), "nibp")
        nibp = NibpSchedule(
            self.number(nibp_raw, "interval_min", "nibp", low=1.0, high=60.0),
            self.number(nibp_raw, "cycle_s", "nibp", low=5.0, high=120.0),
        )
        if nibp.cycle_s >= nibp.interval_min * 60.0:
            raise self.fail("nibp.cycle_s", "must be shorter than the cuff interval")

        oxi_raw = self.table(data, "oximeter", "oximeter", required=False)
        self.only(oxi_raw, ("reports_rr",), "oximeter")
        reports_rr = oxi_raw.get("reports_rr", True)
        if not isinstance(reports_rr, bool):
            raise self.fail("oximeter.reports_rr", f"must be true or false, got {reports_rr!r}")

        demo_raw = self.table(data, "demo", "demo")
        self.only(demo_raw, ("dose_after_s",), "demo")
        demo = DemoSettings(self.number(demo_raw, "dose_after_s", "demo", low=0.0, high=3600.0))

        events_raw = data.get("events", [])
        if not isinstance(events_raw, list):
            raise self.fail("events", "must be an array of tables ([[events]])")
        events = tuple(self.event(e, f"events[{i}]") for i, e in enumerate(events_raw))
        return Scenario(name, description, self.path, sources, baseline, drug, nibp, OximeterSettings(reports_rr), demo, events)

    def baseline(self, raw: Mapping[str, Any]) -> dict[str, Baseline]:
        self.only(raw, VARIABLES, "baseline")
        limits = {"sbp": (60.0, 250.0), "dbp": (30.0, 150.0), "hr": (30.0, 180.0), "spo2": (70.0, 100.0), "rr": (4.0, 40.0)}
        out: dict[str, Baseline] = {}
        for var in VARIABLES:
            where = f"baseline.{var}"
            t = self.table(raw, var, where)
            self.only(t, ("mean", "noise_sd", "drift_sd", "drift_period_s"), where)
            lo, hi = limits[var]
            out[var] = Baseline(
                self.number(t, "mean", where, low=lo, high=hi),
                self.number(t, "noise_sd", where, low=0.0, high=20.0),
                self.number(t, "drift_sd", where, default=0.0, low=0.0, high=20.0),
                self.number(t, "drift_period_s", where, default=60.0, low=5.0, high=3600.0),
            )
        if out["dbp"].mean >= out["sbp"].mean:
            raise self.fail("baseline.dbp.mean", "must be below baseline.sbp.mean")
        return out

    def drug(self, raw: Mapping[str, Any]) -> dict[str, DrugEffect]:
        self.only(raw, VARIABLES, "drug")
        out: dict[str, DrugEffect] = {}
        for var, t in raw.items():
            where = f"drug.{var}"
            if not isinstance(t, dict):
                raise self.fail(where, f"must be a table, got {t!r}")
            self.only(t, ("peak_delta", "time_to_peak_min", "back_to_baseline_min", "onset_min"), where)
            effect = DrugEffect(
                self.number(t, "peak_delta", where, low=-100.0, high=150.0),
                self.number(t, "time_to_peak_min", where, positive=True, high=600.0),
                self.number(t, "back_to_baseline_min", where, positive=True, high=1440.0),
                self.number(t, "onset_min", where, default=0.0, low=0.0, high=600.0),
            )
            if not effect.onset_min < effect.time_to_peak_min < effect.back_to_baseline_min:
                raise self.fail(where, "needs onset_min < time_to_peak_min < back_to_baseline_min")
            out[var] = effect
        return out

    def event(self, raw: Any, where: str) -> ScenarioEvent:
        if not isinstance(raw, dict):
            raise self.fail(where, f"must be a table, got {raw!r}")
        kind = EventKind(self.choice(raw, "kind", where, tuple(k.value for k in EventKind)))
        anchor = Anchor(self.choice(raw, "after", where, tuple(a.value for a in Anchor), default="dose"))
        label = self.string(raw, "label", where, default="")
        start_min = self.number(raw, "start_min", where, low=0.0, high=1440.0)
        if kind is EventKind.PHYSIOLOGY:
            self.only(raw, ("kind", "after", "label", "start_min", "ramp_min", "hold_min", "recover_min", "deltas"), where)
            deltas_raw = self.table(raw, "deltas", f"{where}.deltas")
            self.only(deltas_raw, VARIABLES, f"{where}.deltas")
            if not deltas_raw:
                raise self.fail(f"{where}.deltas", "must change at least one variable")
            deltas = {v: self.number(deltas_raw, v, f"{where}.deltas", low=-150.0, high=150.0) for v in deltas_raw}
            return ScenarioEvent(
                kind,
                anchor,
                start_min,
                label,
                ramp_min=self.number(raw, "ramp_min", where, low=0.0, high=600.0),
                hold_min=self.number(raw, "hold_min", where, low=0.0, high=600.0),
                recover_min=self.number(raw, "recover_min", where, low=0.0, high=600.0),
                deltas=deltas,
            )
        self.only(raw, ("kind", "after", "label", "start_min", "device", "duration_s", "values"), where)
        device = self.choice(raw, "device", where, DEVICES)
        duration_s = self.number(raw, "duration_s", where, positive=True, high=7200.0)
        values: dict[str, tuple[float, float]] = {}
        values_raw = self.table(raw, "values", f"{where}.values", required=False)
        if values_raw and kind is not EventKind.ARTEFACT:
            raise self.fail(f"{where}.values", "is only used by artefact events")
        self.only(values_raw, ARTEFACT_CHANNELS[device], f"{where}.values")
        for ch, pair in values_raw.items():
            w = f"{where}.values.{ch}"
            if not (isinstance(pair, list) and len(pair) == 2):
                raise self.fail(w, f"must be [low, high], got {pair!r}")
            lo = self.number({"low": pair[0]}, "low", w, positive=True)  # 0 is never sent as a value
            hi = self.number({"high": pair[1]}, "high", w, positive=True)
            if hi < lo:
                raise self.fail(w, "must be [low, high] with low <= high")
            values[ch] = (lo, hi)
        return ScenarioEvent(kind, anchor, start_min, label, device=device, duration_s=duration_s, values=values)
