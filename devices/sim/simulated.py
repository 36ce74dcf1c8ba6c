"""Simulated bedside devices driven by a scenario: a pulse oximeter and an NIBP cuff.

They behave like real drivers (own thread, DeviceStatus, Readings, WaveformBlocks) so the whole
pipeline — core, alarms, recorder, UI — can be demonstrated and tested without hardware, at any
clock speed. Values come from ``devices.sim.physiology`` and follow the session's first dose through
``t0_provider`` (before t0 the patient is at baseline).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np

from devices.paced import MAX_STEP_S, PacedDriver, Progress, due_count
from devices.sim.physiology import ARTEFACT, DROPOUT, NORMAL, PROBE_OFF, FloatArray, IntArray, Physiology
from devices.sim.scenario import Scenario, load_scenario
from monitor.clock import Clock
from monitor.ports import DeviceInfo, Driver, DriverSink
from monitor.readings import Flag, Quality, Reading, WaveformBlock

log = logging.getLogger(__name__)

T0Provider = Callable[[], float | None]

#: Numeric rate of the oximeter (SpO2, PR, RR) and its pleth rate, Hz.
OXIMETER_FS = 1.0
PLETH_FS = 75.0
#: A pleth block is sent once this much real time of samples is pending (~40 ms at 1x).
PLETH_BLOCK_REAL_S = 0.04
#: Implausible values used during artefact windows when the scenario names none.
DEFAULT_ARTEFACT_RANGES = {
    "spo2": (60.0, 88.0),
    "pr": (30.0, 220.0),
    "rr": (2.0, 45.0),
    "nibp_sys": (50.0, 260.0),
    "nibp_dia": (15.0, 150.0),
}


def _pulse_template(n: int = 750) -> FloatArray:
    """One normalised (0-1) pleth beat: steep systolic upstroke, slower run-off, dicrotic wave."""
    x = np.arange(n) / n

    def bump(centre: float, width: float) -> FloatArray:
        d = (x - centre + 0.5) % 1.0 - 0.5  # circular distance: the beat joins the next smoothly
        return np.exp(-0.5 * (d / width) ** 2)

    y = bump(0.16, 0.055) + 0.42 * bump(0.40, 0.085) + 0.18 * bump(0.27, 0.10)
    result: FloatArray = (y - y.min()) / (y.max() - y.min())
    return result


_TEMPLATE = _pulse_template()


def _as_scenario(scenario: Scenario | str) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


class SimulatedOximeter(PacedDriver):
    """SpO2, pulse rate (``pr``) and optionally ``rr`` at 1 Hz, pleth at 75 Hz, from the scenario.

    Artefact windows give QUESTIONABLE readings with the ARTEFACT flag and implausible values,
    probe-off windows INVALID readings with PROBE_OFF and NaN pleth, dropout windows nothing at all
    (the core's watchdog reports the silence).
    """

    def __init__(
        self,
        clock: Clock,
        scenario: Scenario | str,
        t0_provider: T0Provider,
        seed: int = 0,
        source: str = "sim:oximeter",
    ) -> None:
        super().__init__(clock, DeviceInfo(source, "Simulated pulse oximeter", "oximeter", stale_after_s=10.0))
        self.scenario = _as_scenario(scenario)
        self._patient = Physiology(self.scenario, seed)
        self._t0_provider = t0_provider
        self._k = 0  # next numeric sample index
        self._j = 0  # next pleth sample index
        # Pulse and breath phase (in cycles) at the start of each second, accumulated strictly in
        # order so the pleth is bit-identical however the work is split into blocks.
        self._sec_next = 0
        self._pulse_next = 0.0
        self._breath_next = 0.0
        self._sec_first = 0
        self._pulse_start = np.zeros(0)
        self._breath_start = np.zeros(0)
        self._hr_sec = np.zeros(0)
        self._rr_sec = np.zeros(0)

    def _step(self, now: float, sink: DriverSink) -> Progress:
        origin = self._origin
        assert origin is not None
        t0 = self._t0_provider()
        behind = False

        n_num = due_count(origin, OXIMETER_FS, now)
        if n_num > self._k:
            end = min(n_num, self._k + int(MAX_STEP_S * OXIMETER_FS))
            behind |= end < n_num
            readings = self._numerics(np.arange(self._k, end, dtype=np.int64), t0, origin)
            self._k = end
            if readings:
                sink.put_readings(readings)

        n_pleth = due_count(origin, PLETH_FS, now)
        min_block = max(1, math.ceil(PLETH_BLOCK_REAL_S * self._clock.speed * PLETH_FS))
        if n_pleth - self._j >= min_block:
            end = min(n_pleth, self._j + int(MAX_STEP_S * PLETH_FS))
            behind |= end < n_pleth
            for block in self._pleth(np.arange(self._j, end, dtype=np.int64), t0, origin):
                sink.put_waveform(block)
            self._j = end
        return Progress.BEHIND if behind else Progress.IDLE

    def _numerics(self, k: IntArray, t0: float | None, origin: float) -> list[Reading]:
        p, src = self._patient, self._info.source
        t = origin + k / OXIMETER_FS
        cond = p.condition("oximeter", t, t0, origin)
        channels = {"spo2": p.sample("spo2", t, k, t0, origin), "pr": p.sample("hr", t, k, t0, origin)}
        if self.scenario.oximeter.reports_rr:
            channels["rr"] = p.sample("rr", t, k, t0, origin)
        if (cond == ARTEFACT).any():
            for ch, values in channels.items():
                bad = p.artefact_values("oximeter", ch, t, k, t0, origin, DEFAULT_ARTEFACT_RANGES[ch])
                channels[ch] = np.where(cond == ARTEFACT, bad, values)
        out: list[Reading] = []
        for i in range(k.shape[0]):
            c, ti = int(cond[i]), float(t[i])
            if c == DROPOUT:
                continue
            for ch, values in channels.items():
                if c == PROBE_OFF:
                    out.append(Reading.invalid(src, ch, ti, Flag.PROBE_OFF))
                elif c == ARTEFACT:
                    out.append(Reading(src, ch, ti, _reported(values[i]), Quality.QUESTIONABLE, Flag.ARTEFACT))
                else:
                    out.append(Reading(src, ch, ti, _reported(values[i])))
        return out

    def _phases(self, s_first: int, s_last: int, t0: float | None, origin: float) -> None:
        """Make pulse/breath phases and per-second HR/RR available for seconds s_first..s_last."""
        if s_last >= self._sec_next:
            s = np.arange(self._sec_next, s_last + 1, dtype=np.int64)
            t = origin + s.astype(np.float64)
            hr = self._patient.sample("hr", t, s, t0, origin)
            rr = self._patient.sample("rr", t, s, t0, origin)
            pulse = np.add.accumulate(np.concatenate(([self._pulse_next], hr / 60.0)))
            breath = np.add.accumulate(np.concatenate(([self._breath_next], rr / 60.0)))
            self._pulse_start = np.concatenate((self._pulse_start, pulse[:-1]))
            self._breath_start = np.concatenate((self._breath_start, breath[:-1]))
            self._hr_sec = np.concatenate((self._hr_sec, hr))
            self._rr_sec = np.concatenate((self._rr_sec, rr))
            self._pulse_next, self._breath_next, self._sec_next = float(pulse[-1]), float(breath[-1]), s_last + 1
        drop = s_first - self._sec_first
        if drop > 0:
            self._pulse_start, self._breath_start = self._pulse_start[drop:], self._breath_start[drop:]
            self._hr_sec, self._rr_sec = self._hr_sec[drop:], self._rr_sec[drop:]
            self._sec_first = s_first

    def _pleth(self, j: IntArray, t0: float | None, origin: float) -> list[WaveformBlock]:
        """Pleth samples ``j`` as blocks; a dropout splits them (no samples are sent while silent)."""
        p = self._patient
        per_s = int(PLETH_FS)
        sec = j // per_s
        self._phases(int(sec[0]), int(sec[-1]), t0, origin)
        i = sec - self._sec_first
        within = (j - sec * per_s) / PLETH_FS  # seconds since the start of that second
        pulse = self._pulse_start[i] + within * self._hr_sec[i] / 60.0
        breath = self._breath_start[i] + within * self._rr_sec[i] / 60.0
        shape = _TEMPLATE[((pulse % 1.0) * _TEMPLATE.shape[0]).astype(np.int64)]
        resp = np.sin(2.0 * np.pi * breath)
        y = 0.5 + (shape - 0.5) * 0.72 * (1.0 + 0.08 * resp) + 0.04 * resp + 0.006 * p.gaussian("pleth", j)
        t = origin + j / PLETH_FS
        cond = p.condition("oximeter", t, t0, origin)
        moving = cond == ARTEFACT
        if moving.any():
            motion = 0.3 * np.sin(2.0 * np.pi * 1.3 * (t - origin)) + 0.15 * p.gaussian("pleth:motion", j)
            y = np.where(moving, y + motion, y)
        y = np.clip(y, 0.0, 1.0)
        y[cond == PROBE_OFF] = np.nan
        blocks: list[WaveformBlock] = []
        sent = cond != DROPOUT
        # split into runs of samples that are sent
        edges = np.flatnonzero(np.diff(sent.astype(np.int8))) + 1
        for run in np.split(np.arange(j.shape[0]), edges):
            if run.shape[0] and sent[run[0]]:
                blocks.append(WaveformBlock(self._info.source, "pleth", float(t[run[0]]), PLETH_FS, y[run].copy()))
        return blocks


class SimulatedNibp(PacedDriver):
    """An automatic cuff: a cycle every ``interval_min`` (the first at start), each ``cycle_s`` long,
    reporting ``nibp_sys``, ``nibp_dia`` and ``nibp_map`` stamped at the end of the cycle."""

    def __init__(
        self,
        clock: Clock,
        scenario: Scenario | str,
        t0_provider: T0Provider,
        seed: int = 0,
        source: str = "sim:nibp",
    ) -> None:
        sc = _as_scenario(scenario)
        interval_s = sc.nibp.interval_min * 60.0
        super().__init__(clock, DeviceInfo(source, "Simulated NIBP cuff", "nibp", stale_after_s=interval_s + 90.0))
        self.scenario = sc
        self._patient = Physiology(sc, seed)
        self._t0_provider = t0_provider
        self._interval_s = interval_s
        self._k = 0

    def _step(self, now: float, sink: DriverSink) -> Progress:
        origin = self._origin
        assert origin is not None
        n = due_count(origin, 1.0 / self._interval_s, now, offset_s=self.scenario.nibp.cycle_s)
        if n <= self._k:
            return Progress.IDLE
        end = min(n, self._k + 1000)
        readings = self._cycles(np.arange(self._k, end, dtype=np.int64), self._t0_provider(), origin)
        self._k = end
        if readings:
            sink.put_readings(readings)
        return Progress.BEHIND if end < n else Progress.IDLE

    def _cycles(self, k: IntArray, t0: float | None, origin: float) -> list[Reading]:
        p, src, cycle_s = self._patient, self._info.source, self.scenario.nibp.cycle_s
        begin: FloatArray = origin + k.astype(np.float64) * self._interval_s
        t = begin + cycle_s  # stamped when the cuff has a result
        # a problem anywhere in the cycle spoils it: look at start, middle and end
        cond = np.maximum.reduce([p.condition("nibp", x, t0, origin) for x in (begin, begin + cycle_s / 2, t - 1e-6)])
        sys = p.sample("sbp", t, k, t0, origin)
        dia = p.sample("dbp", t, k, t0, origin)
        bad_sys = p.artefact_values("nibp", "nibp_sys", t, k, t0, origin, DEFAULT_ARTEFACT_RANGES["nibp_sys"])
        bad_dia = p.artefact_values("nibp", "nibp_dia", t, k, t0, origin, DEFAULT_ARTEFACT_RANGES["nibp_dia"])
        out: list[Reading] = []
        for i in range(k.shape[0]):
            c, ti = int(cond[i]), float(t[i])
            if c == DROPOUT:
                continue
            if c == PROBE_OFF:
                out.extend(Reading.invalid(src, ch, ti, Flag.PROBE_OFF) for ch in ("nibp_sys", "nibp_dia", "nibp_map"))
                continue
            s, d = (bad_sys[i], bad_dia[i]) if c == ARTEFACT else (sys[i], dia[i])
            s_r = _reported(s)
            d_r = min(_reported(d), s_r - 1.0)  # a cuff never reports diastolic >= systolic
            m_r = _reported(d_r + (s_r - d_r) / 3.0)
            quality, flags = (Quality.QUESTIONABLE, Flag.ARTEFACT) if c == ARTEFACT else (Quality.OK, Flag.NONE)
            assert c in (NORMAL, ARTEFACT)
            out.extend(
                Reading(src, ch, ti, v, quality, flags) for ch, v in (("nibp_sys", s_r), ("nibp_dia", d_r), ("nibp_map", m_r))
            )
        return out


def _reported(value: float) -> float:
    """Devices report whole numbers; a simulated value is never 0 (0 would look like a real value)."""
    return float(max(1, round(float(value))))


def simulated_devices(scenario: Scenario | str, clock: Clock, t0_provider: T0Provider, seed: int = 0) -> list[Driver]:
    """The simulated oximeter and cuff for one scenario, sharing the seed and the dose time."""
    sc = _as_scenario(scenario)
    return [SimulatedOximeter(clock, sc, t0_provider, seed), SimulatedNibp(clock, sc, t0_provider, seed)]
