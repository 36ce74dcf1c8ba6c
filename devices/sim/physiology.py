"""The simulated patient: the value of each variable at any session time, deterministically.

value(t) = baseline + drug curve(t - t0) + physiology events + noise. Noise is not drawn from a
stateful generator but hashed from (seed, variable, sample index) — and the slow drift from
(seed, variable, knot index of the time since the device started) — so the same seed, start and t0
give bit-identical readings however the driver threads happen to be scheduled or how their work is
split into blocks, and the same seed and dose offset give the same session on any day.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from devices.sim.scenario import VARIABLES, Anchor, DrugEffect, EventKind, Scenario, ScenarioEvent

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Device conditions, in priority order (a later one wins when windows overlap).
NORMAL: Final = 0
ARTEFACT: Final = 1
PROBE_OFF: Final = 2
DROPOUT: Final = 3
_CONDITION = {EventKind.ARTEFACT: ARTEFACT, EventKind.PROBE_OFF: PROBE_OFF, EventKind.DROPOUT: DROPOUT}

#: Physical bounds after noise (a simulated SpO2 never exceeds 100 %).
_BOUNDS = {"sbp": (40.0, 300.0), "dbp": (20.0, 200.0), "hr": (20.0, 250.0), "spo2": (40.0, 100.0), "rr": (1.0, 60.0)}


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64 finaliser on arrays (uint64 array arithmetic wraps silently, as intended)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _stream_key(seed: int, name: str) -> np.uint64:
    """A 64-bit key per (seed, stream name); crc32, unlike hash(), is stable across runs."""
    base = np.array([(int(seed) & 0xFFFFFFFF) << 32 | zlib.crc32(name.encode())], dtype=np.uint64)
    return np.uint64(_splitmix(base)[0])


def uniform(seed: int, stream: str, k: npt.ArrayLike) -> FloatArray:
    """Uniform numbers in (0, 1], one per integer index in ``k``, a pure function of its inputs."""
    idx = np.atleast_1d(np.asarray(k, dtype=np.int64)).astype(np.uint64)  # two's complement for negatives
    z = _splitmix(idx ^ _stream_key(seed, stream))
    return ((z >> np.uint64(11)).astype(np.float64) + 1.0) * (1.0 / 9007199254740992.0)


def gaussian(seed: int, stream: str, k: npt.ArrayLike) -> FloatArray:
    """Standard normal numbers, one per index (Box-Muller on two hashed uniforms)."""
    idx = np.atleast_1d(np.asarray(k, dtype=np.int64))
    u1 = uniform(seed, stream + "#1", idx)
    u2 = uniform(seed, stream + "#2", idx)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def drug_curve(effect: DrugEffect, minutes: npt.ArrayLike) -> FloatArray:
    """Drug effect at ``minutes`` after t0: 0 before onset, raised-cosine rise to ``peak_delta`` at
    the peak, raised-cosine fall to 0 at ``back_to_baseline_min``, 0 afterwards (smooth, no kinks)."""
    m = np.atleast_1d(np.asarray(minutes, dtype=np.float64))
    on, peak, end = effect.onset_min, effect.time_to_peak_min, effect.back_to_baseline_min
    out = np.zeros_like(m)
    rise = (m > on) & (m <= peak)
    out[rise] = 0.5 * (1.0 - np.cos(np.pi * (m[rise] - on) / (peak - on)))
    fall = (m > peak) & (m < end)
    out[fall] = 0.5 * (1.0 + np.cos(np.pi * (m[fall] - peak) / (end - peak)))
    return out * effect.peak_delta


def _envelope(event: ScenarioEvent, seconds: FloatArray) -> FloatArray:
    """0..1 trapezoid with raised-cosine ramps for a physiology event, ``seconds`` after its start."""
    ramp, hold, rec = event.ramp_min * 60.0, event.hold_min * 60.0, event.recover_min * 60.0
    out = np.zeros_like(seconds)
    up = (seconds >= 0) & (seconds < ramp)
    out[up] = 0.5 * (1.0 - np.cos(np.pi * seconds[up] / ramp))
    out[(seconds >= ramp) & (seconds <= ramp + hold)] = 1.0
    down = (seconds > ramp + hold) & (seconds < ramp + hold + rec)
    out[down] = 0.5 * (1.0 + np.cos(np.pi * (seconds[down] - ramp - hold) / rec))
    return out


class Physiology:
    """A deterministic patient for one scenario and seed.

    ``origin`` is the session time the device started (anchor of ``after = "start"`` events);
    ``t0`` the first dose (None: not dosed yet, so no drug effect and no dose-anchored events).
    """

    def __init__(self, scenario: Scenario, seed: int = 0) -> None:
        self.scenario = scenario
        self.seed = int(seed)

    # ---- deterministic random numbers --------------------------------------------------------
    def uniform(self, stream: str, k: npt.ArrayLike) -> FloatArray:
        return uniform(self.seed, stream, k)

    def gaussian(self, stream: str, k: npt.ArrayLike) -> FloatArray:
        return gaussian(self.seed, stream, k)

    # ---- the patient -------------------------------------------------------------------------
    def curve(self, var: str, t: npt.ArrayLike, t0: float | None, origin: float) -> FloatArray:
        """Noiseless value of ``var`` (or "map") at session times ``t``: baseline + drug + events."""
        tt = np.atleast_1d(np.asarray(t, dtype=np.float64))
        if var == "map":
            return _mean_arterial(self.curve("sbp", tt, t0, origin), self.curve("dbp", tt, t0, origin))
        if var not in VARIABLES:
            raise KeyError(f"unknown physiological variable {var!r}; known: {', '.join(VARIABLES)}, map")
        out = np.full_like(tt, self.scenario.baseline[var].mean)
        effect = self.scenario.drug.get(var)
        if effect is not None and t0 is not None:
            out += drug_curve(effect, (tt - t0) / 60.0)
        for ev in self.scenario.events:
            if ev.kind is EventKind.PHYSIOLOGY and var in ev.deltas:
                start = self._event_start(ev, t0, origin)
                if start is not None:
                    out += ev.deltas[var] * _envelope(ev, tt - start)
        return out

    def noise(self, var: str, t_rel: npt.ArrayLike, k: npt.ArrayLike) -> FloatArray:
        """White noise for sample indices ``k`` plus smooth drift at ``t_rel`` seconds after the
        device started (relative, so a replayed seed gives the same values on any day)."""
        base = self.scenario.baseline[var]
        kk = np.atleast_1d(np.asarray(k, dtype=np.int64))
        out = base.noise_sd * self.gaussian(var, kk) if base.noise_sd > 0 else np.zeros(kk.shape)
        if base.drift_sd > 0:
            x = np.atleast_1d(np.asarray(t_rel, dtype=np.float64)) / base.drift_period_s
            knot = np.floor(x)
            frac = x - knot
            i = knot.astype(np.int64)
            a = self.gaussian(var + ":drift", i)
            b = self.gaussian(var + ":drift", i + 1)
            w = 0.5 * (1.0 - np.cos(np.pi * frac))  # cosine interpolation between knots
            out = out + base.drift_sd * (a + (b - a) * w)
        return out

    def sample(self, var: str, t: npt.ArrayLike, k: npt.ArrayLike, t0: float | None, origin: float) -> FloatArray:
        """What a device measures: curve + noise, kept within physical bounds."""
        lo, hi = _BOUNDS[var]
        tt = np.atleast_1d(np.asarray(t, dtype=np.float64))
        return np.clip(self.curve(var, tt, t0, origin) + self.noise(var, tt - origin, k), lo, hi)

    def condition(self, device: str, t: npt.ArrayLike, t0: float | None, origin: float) -> npt.NDArray[np.int8]:
        """NORMAL / ARTEFACT / PROBE_OFF / DROPOUT of ``device`` at times ``t`` (highest wins)."""
        tt = np.atleast_1d(np.asarray(t, dtype=np.float64))
        out = np.zeros(tt.shape, dtype=np.int8)
        for ev, code in self.device_events(device):
            start = self._event_start(ev, t0, origin)
            if start is not None:
                inside = (tt >= start) & (tt < start + ev.duration_s)
                out[inside] = np.maximum(out[inside], code)
        return out

    def device_events(self, device: str) -> Sequence[tuple[ScenarioEvent, int]]:
        return [(ev, _CONDITION[ev.kind]) for ev in self.scenario.events if ev.device == device and ev.kind in _CONDITION]

    def artefact_values(
        self,
        device: str,
        channel: str,
        t: FloatArray,
        k: IntArray,
        t0: float | None,
        origin: float,
        default: tuple[float, float],
    ) -> FloatArray:
        """Implausible values for ``channel`` during artefact windows: uniform in the range the
        event active at each time names (else ``default``), deterministic per sample index."""
        lo = np.full(t.shape, default[0])
        hi = np.full(t.shape, default[1])
        for ev, code in self.device_events(device):
            start = self._event_start(ev, t0, origin)
            if code == ARTEFACT and channel in ev.values and start is not None:
                inside = (t >= start) & (t < start + ev.duration_s)
                lo[inside], hi[inside] = ev.values[channel]
        out: FloatArray = lo + (hi - lo) * self.uniform(f"artefact:{channel}", k)
        return out

    def _event_start(self, ev: ScenarioEvent, t0: float | None, origin: float) -> float | None:
        if ev.anchor is Anchor.DOSE:
            return None if t0 is None else t0 + ev.start_min * 60.0
        return origin + ev.start_min * 60.0


def _mean_arterial(sys: FloatArray, dia: FloatArray) -> FloatArray:
    """MAP as an oscillometric cuff reports it, approximated as DBP + (SBP - DBP) / 3."""
    return dia + (sys - dia) / 3.0
