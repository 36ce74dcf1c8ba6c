"""The alarm watchdog (requirement 25): a stalled alarm tick or display starts the OS-level
fallback within ~6 s, and it sounds for at least 120 s — measured on a fake clock."""

from __future__ import annotations

import io
import os
import stat
import sys
import threading
import time
import wave

import numpy as np
import pytest

from app.watchdog import AlarmWatchdog, OsFallbackTone, fallback_wav


class FakeTime:
    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


class CountingSound:
    def __init__(self, clock: FakeTime) -> None:
        self._clock = clock
        self.beeps: list[float] = []
        self.closed = False

    def beep(self) -> None:
        self.beeps.append(self._clock())

    def close(self) -> None:
        self.closed = True


def run(
    watchdog: AlarmWatchdog, clock: FakeTime, seconds: float, beats: dict[str, float], alive: set[str], step: float = 0.5
) -> None:
    """Advance fake time in poll-sized steps; the parts in ``alive`` keep beating."""
    end = clock.t + seconds
    while clock.t < end:
        clock.t += step
        for name in alive:
            beats[name] = clock.t
        watchdog.poll()


@pytest.mark.parametrize("stalls", ["alarm engine", "display"])
def test_a_stalled_heartbeat_fires_within_6_s_and_sounds_at_least_120_s(stalls):
    clock = FakeTime()
    sound = CountingSound(clock)
    reports: list[tuple[str, bool]] = []
    beats = {"alarm engine": clock.t, "display": clock.t}
    watchdog = AlarmWatchdog(
        {name: (lambda n=name: beats[n]) for name in beats}, sound, lambda m, a: reports.append((m, a)), clock=clock
    )
    run(watchdog, clock, 30, beats, {"alarm engine", "display"})
    assert not watchdog.sounding and sound.beeps == [] and reports == []  # healthy: silent

    stalled_at = clock.t
    others = {"alarm engine", "display"} - {stalls}
    run(watchdog, clock, 10, beats, others)
    assert watchdog.sounding and watchdog.fired_at is not None
    assert 5.0 < watchdog.fired_at - stalled_at <= 6.0
    assert reports == [(f"Alarm system failure: {stalls} stopped for more than 5 s — fallback tone sounding", True)]

    run(watchdog, clock, 5, beats, {"alarm engine", "display"})  # it recovers after 15 s ...
    run(watchdog, clock, 130, beats, {"alarm engine", "display"})  # ... but the signal lasts ≥ 120 s
    assert not watchdog.sounding
    assert sound.beeps[0] == watchdog.fired_at
    assert sound.beeps[-1] - sound.beeps[0] >= 119.0 and len(sound.beeps) >= 120
    assert max(b - a for a, b in zip(sound.beeps, sound.beeps[1:], strict=False)) <= 1.0
    assert sound.beeps[-1] < watchdog.fired_at + 121
    assert reports[-1] == ("", False)


def test_the_signal_lasts_as_long_as_the_stall():
    clock = FakeTime()
    sound = CountingSound(clock)
    beats = {"alarm engine": clock.t}
    watchdog = AlarmWatchdog({"alarm engine": lambda: beats["alarm engine"]}, sound, clock=clock)
    run(watchdog, clock, 300, beats, set())
    assert watchdog.sounding and sound.beeps[-1] >= clock.t - 1.0


def test_a_heartbeat_that_raises_counts_as_stopped(caplog):
    clock = FakeTime()
    sound = CountingSound(clock)

    def broken() -> float:
        raise RuntimeError("core gone")

    watchdog = AlarmWatchdog({"alarm engine": broken}, sound, clock=clock)
    watchdog.poll()
    assert watchdog.sounding and sound.beeps == [clock.t]
    assert any(r.levelname == "CRITICAL" and "alarm engine" in r.getMessage() for r in caplog.records)


def test_the_thread_fires_on_real_time_and_stops_cleanly():
    frozen = time.monotonic()
    fired = threading.Event()

    class Sound:
        closed = False

        def beep(self) -> None:
            fired.set()

        def close(self) -> None:
            self.closed = True

    sound = Sound()
    watchdog = AlarmWatchdog({"display": lambda: frozen}, sound, stall_s=0.2, poll_s=0.02, min_sound_s=0.5)
    watchdog.start()
    try:
        assert fired.wait(2.0)
        with pytest.raises(RuntimeError):
            watchdog.start()
    finally:
        watchdog.stop()
    assert sound.closed and not any(t.name == "alarm-watchdog" for t in threading.enumerate())


def test_os_fallback_tone_rings_the_bell_and_plays_the_wav(tmp_path, capfd):
    log = tmp_path / "played.txt"
    player = tmp_path / "player"
    player.write_text(f'#!/bin/sh\ncp "$1" {tmp_path / "copy.wav"}\necho "$1" >> {log}\n')
    player.chmod(player.stat().st_mode | stat.S_IEXEC)
    tone = OsFallbackTone(tty=str(tmp_path / "no-such-dir" / "tty"), player=str(player))
    tone.beep()
    deadline = time.monotonic() + 5
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    wav_path = log.read_text().split()[0]
    tone.close()
    assert "\a" in capfd.readouterr().err  # no terminal: BEL went to stderr
    assert not os.path.exists(wav_path)  # the generated file is removed
    with wave.open(str(tmp_path / "copy.wav")) as w:
        assert w.getframerate() == 16_000 and w.getnframes() > 0.7 * 16_000


def test_fallback_wav_is_three_pulses():
    with wave.open(io.BytesIO(fallback_wav())) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
        rate = w.getframerate()
    on = np.abs(samples) > 500
    envelope = np.convolve(on, np.ones(int(0.01 * rate)), mode="same") > 0
    rises = np.flatnonzero(envelope[1:] & ~envelope[:-1])
    assert len(rises) + int(envelope[0]) == 3


def test_no_player_no_tty_still_rings_stderr(tmp_path, capfd):
    tone = OsFallbackTone(tty=str(tmp_path / "missing-dir" / "tty"), player="")
    tone.beep()
    tone.close()
    assert capfd.readouterr().err == "\a" and tone.beeps == 1 and sys.stderr is not None


def test_bedside_wiring_reports_a_stalled_core_as_a_recorded_high_technical_alarm():
    from app.watchdog import watch_core_and_display
    from monitor.alarms import AlarmCategory, AlarmPriority, Transition
    from monitor.clock import FakeClock
    from monitor.core import Core

    core = Core(FakeClock(1_800_000_000.0))  # no core thread: its alarm tick never moves
    fake = FakeTime()
    fake.t = core.last_alarm_tick
    display = {"t": fake.t}
    sound = CountingSound(fake)
    watchdog = watch_core_and_display(core, lambda: display["t"], sound, clock=fake)
    run(watchdog, fake, 4, display, {"t"})  # 4 s without an alarm tick: not yet a failure
    assert not watchdog.sounding and sound.beeps == []
    fake.t = core.last_alarm_tick + 6.0
    display["t"] = fake.t
    watchdog.poll()
    assert watchdog.sounding and sound.beeps == [fake.t]
    core._drain(block=False)  # deliver the notice without a tick (the tick is what stalled)
    [c] = core.alarms.state().conditions
    assert c.key == "notice:alarm-watchdog" and c.priority is AlarmPriority.HIGH and c.category is AlarmCategory.TECHNICAL
    assert c.message == "Alarm system failure: alarm engine stopped for more than 5 s — fallback tone sounding"
    events = []
    while not core.ui_events.empty():
        events.append(core.ui_events.get_nowait())
    assert any(getattr(e, "transition", None) is Transition.RAISED and e.key == "notice:alarm-watchdog" for e in events)
    # the core runs again; after ≥ 120 s the signal ends and the condition clears
    for _ in range(250):
        fake.t += 0.5
        core.last_alarm_tick = display["t"] = fake.t
        watchdog.poll()
    assert not watchdog.sounding
    core._drain(block=False)
    assert core.alarms.state().conditions == ()
