"""Auditory alarm signals: priority-encoded tone bursts generated as PCM and played through
QtMultimedia, behind a small interface so tests check the request, not the speaker.

Burst and pulse numbers from clinical.md §4.4 and requirement 21: HIGH = 10 pulses (3 + 2, twice)
of 150 ms every 10 s; MEDIUM = 3 pulses of 200 ms every 20 s; LOW = 2 pulses of 200 ms, once.
Each pulse has a fundamental in 150–1000 Hz and 4 harmonics inside 300–4000 Hz within 15 dB of it.
Where §4.4 gives only a range (pulse spacing, rise time) the value is inside the range; the longer
gaps of the HIGH pattern (between the 3 and the 2, between the two halves) are not in the reference
and are engineering choices. When no audio output works, the "alarm audio unavailable" technical
alarm is raised (through a TechnicalNotice the engine turns into an alarm), never a silent failure.
"""

from __future__ import annotations

import io
import logging
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import numpy as np

from monitor.alarms import AUDIO_NOTICE_KEY, AlarmEvent, AlarmPriority, AlarmState, Transition
from monitor.clock import Clock
from monitor.events import NoticeLevel, TechnicalNotice

log = logging.getLogger(__name__)

SAMPLE_RATE: Final = 22_050  # Hz: the 5th harmonic of the highest fundamental (3.3 kHz) is far below Nyquist
HARMONIC_AMPLITUDES: Final = (1.0, 0.7, 0.5, 0.4, 0.3)  # fundamental + 4 harmonics; 0.3 = -10.5 dB (≥ -15 dB)
RISE_FRACTION: Final = 0.15  # rise/fall time 10-20 % of the pulse (clinical.md §4.4 ⚠)
AMPLITUDE: Final = 0.6  # of full scale: headroom for the summed harmonics


@dataclass(frozen=True, slots=True)
class BurstSpec:
    """One priority's burst: pulse onsets (s from burst start), pulse length, repeat interval."""

    onsets_s: tuple[float, ...]
    pulse_s: float
    interval_s: float | None  # burst start to next burst start; None = played once
    fundamental_hz: float

    @property
    def pulses(self) -> int:
        return len(self.onsets_s)

    @property
    def length_s(self) -> float:
        return self.onsets_s[-1] + self.pulse_s


def _onsets(pulse_s: float, gaps_s: list[float]) -> tuple[float, ...]:
    """Onsets from the silent gaps between consecutive pulses."""
    t, out = 0.0, [0.0]
    for gap in gaps_s:
        t += pulse_s + gap
        out.append(round(t, 6))
    return tuple(out)


# HIGH: t_s 100 ms (§4.4: 50-125 ms); 3 → 2 gap 300 ms and half → half gap 600 ms (engineering choice).
_HIGH_GAPS: Final = [0.1, 0.1, 0.3, 0.1, 0.6, 0.1, 0.1, 0.3, 0.1]
BURSTS: Final[dict[AlarmPriority, BurstSpec]] = {
    AlarmPriority.HIGH: BurstSpec(_onsets(0.150, _HIGH_GAPS), 0.150, 10.0, 660.0),
    AlarmPriority.MEDIUM: BurstSpec(_onsets(0.200, [0.2, 0.2]), 0.200, 20.0, 523.0),  # t_s 200 ms (125-250 ms)
    AlarmPriority.LOW: BurstSpec(_onsets(0.200, [0.2]), 0.200, None, 440.0),
}
#: The reminder signal of AUDIO OFF / ALARM OFF: one low-priority pulse.
REMINDER: Final = BurstSpec((0.0,), 0.200, None, 440.0)


def pulse(fundamental_hz: float, length_s: float, fs: int = SAMPLE_RATE) -> np.ndarray:
    """One tone pulse: fundamental + 4 harmonics with raised-cosine rise and fall."""
    n = round(length_s * fs)
    t = np.arange(n) / fs
    y = sum(a * np.sin(2 * np.pi * fundamental_hz * (k + 1) * t) for k, a in enumerate(HARMONIC_AMPLITUDES))
    y = np.asarray(y, dtype=np.float64) / sum(HARMONIC_AMPLITUDES)
    ramp = max(1, round(RISE_FRACTION * n))
    env = np.ones(n)
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    env[:ramp], env[n - ramp :] = edge, edge[::-1]
    result: np.ndarray = AMPLITUDE * y * env
    return result


def burst(spec: BurstSpec, fs: int = SAMPLE_RATE) -> np.ndarray:
    """The burst, followed by silence up to the repeat interval (so looping it repeats correctly)."""
    total_s = spec.interval_s if spec.interval_s is not None else spec.length_s
    out = np.zeros(round(total_s * fs))
    one = pulse(spec.fundamental_hz, spec.pulse_s, fs)
    for onset in spec.onsets_s:
        i = round(onset * fs)
        out[i : i + one.shape[0]] = one
    return out


def wav_bytes(samples: np.ndarray, fs: int = SAMPLE_RATE) -> bytes:
    """16-bit mono PCM WAV."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(fs)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


class AlarmSound(Protocol):
    """What the sounder needs from a loudspeaker."""

    def unavailable_reason(self) -> str | None:
        """None when sound can be played; else why not, for the nurse."""
        ...

    def play(self, priority: AlarmPriority | None) -> None:
        """Start the priority's repeating burst (None: silence)."""
        ...

    def remind(self) -> None:
        """One reminder pulse."""
        ...

    def close(self) -> None: ...


class NullSound:
    """Records requests; no loudspeaker. For tests and benches — the bedside program uses QtAlarmSound."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason
        self.played: list[AlarmPriority | None] = []
        self.reminders = 0

    def unavailable_reason(self) -> str | None:
        return self.reason

    def play(self, priority: AlarmPriority | None) -> None:
        self.played.append(priority)

    def remind(self) -> None:
        self.reminders += 1

    def close(self) -> None:
        pass


class QtAlarmSound:
    """QSoundEffect playing generated WAV files (one looping file per priority).

    Needs the PySide6-Addons wheel (QtMultimedia) and libpulse0; without them, without an audio
    output device, or when an effect reports an error, ``unavailable_reason()`` says so.
    """

    def __init__(self, on_failure: Callable[[str], None] | None = None) -> None:
        self._on_failure = on_failure
        self._effects: dict[AlarmPriority | str, object] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._reason: str | None = None
        self._current: AlarmPriority | None = None
        try:
            from PySide6.QtMultimedia import QMediaDevices
        except ImportError as exc:
            self._reason = f"QtMultimedia is not installed ({exc})"
            return
        if not QMediaDevices.audioOutputs():
            self._reason = "no audio output device"
            return
        self._build()

    def _build(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtMultimedia import QSoundEffect

        self._tmp = tempfile.TemporaryDirectory(prefix="session-monitor-alarm-")
        specs: dict[AlarmPriority | str, BurstSpec] = {**BURSTS, "reminder": REMINDER}
        for key, spec in specs.items():
            name = key.name if isinstance(key, AlarmPriority) else key
            path = Path(self._tmp.name) / f"{name.lower()}.wav"
            path.write_bytes(wav_bytes(burst(spec)))
            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setLoopCount(QSoundEffect.Loop.Infinite.value if spec.interval_s is not None else 1)
            effect.statusChanged.connect(self._on_status)
            self._effects[key] = effect

    def _on_status(self) -> None:
        from PySide6.QtMultimedia import QSoundEffect

        for effect in self._effects.values():
            assert isinstance(effect, QSoundEffect)
            if effect.status() is QSoundEffect.Status.Error and self._reason is None:
                self._reason = "the audio system reported an error playing the alarm tone"
                log.error("alarm sound failed: %s", self._reason)
                if self._on_failure is not None:
                    self._on_failure(self._reason)

    def unavailable_reason(self) -> str | None:
        return self._reason

    def play(self, priority: AlarmPriority | None) -> None:
        if priority is self._current:
            return
        if self._current is not None:
            self._effect(self._current, "stop")
        self._current = priority
        if priority is not None:
            self._effect(priority, "play")

    def remind(self) -> None:
        self._effect("reminder", "play")

    def _effect(self, key: AlarmPriority | str, action: str) -> None:
        effect = self._effects.get(key)
        if effect is not None:
            getattr(effect, action)()

    def close(self) -> None:
        self.play(None)
        self._effects.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class AlarmSounder:
    """Makes the loudspeaker follow the alarm state: only the highest-priority audible condition
    sounds (the engine computes ``AlarmState.audio``), reminders play once, and a loudspeaker that
    cannot play raises "alarm audio unavailable" through ``report``."""

    def __init__(self, sound: AlarmSound, report: Callable[[TechnicalNotice], None], clock: Clock) -> None:
        self._sound, self._report, self._clock = sound, report, clock
        self._playing: AlarmPriority | None = None
        self._reported = False
        self.check()

    @property
    def playing(self) -> AlarmPriority | None:
        return self._playing

    def check(self) -> None:
        """Raise the technical alarm once when the loudspeaker cannot play."""
        reason = self._sound.unavailable_reason()
        if reason is not None and not self._reported:
            self._reported = True
            text = f"Alarm sound unavailable: {reason} — alarms are shown on screen only; watch the monitor"
            log.error("%s", text)
            self._report(TechnicalNotice(AUDIO_NOTICE_KEY, text, NoticeLevel.CRITICAL, self._clock.now()))

    def on_state(self, state: AlarmState) -> None:
        if state.audio is not self._playing:
            self._playing = state.audio
            self._sound.play(state.audio)
        self.check()

    def on_event(self, event: AlarmEvent) -> None:
        if event.transition is Transition.REMINDER:
            self._sound.remind()

    def close(self) -> None:
        self._sound.play(None)
        self._sound.close()
