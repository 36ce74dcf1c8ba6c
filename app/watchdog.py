"""The alarm system's last line of defence (clinical.md requirement 25, §4.5: "failure of the alarm
system ... should sound ≥ 120 s"): a plain thread, independent of Qt and of the core thread, that
watches two heartbeats — the core's alarm tick (``Core.last_alarm_tick``) and the GUI's frame — and,
when either stops for more than ``stall_s``, sounds an OS-level fallback tone for at least
``min_sound_s`` (and for as long as the stall lasts), logs CRITICAL and reports it (the bedside
program posts a technical notice, which the core records and raises as a HIGH technical alarm).

The fallback cannot use Qt (``QApplication.beep()`` and QtMultimedia belong to the GUI thread,
which may be the one that hangs): ``OsFallbackTone`` writes BEL to the controlling terminal (or
stderr) and, where ``paplay`` or ``aplay`` is installed, plays a generated WAV through it.
The clock is injectable so tests run the 120 s on fake time.
"""

from __future__ import annotations

import io
import logging
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Protocol

from monitor.alarms import WATCHDOG_NOTICE_KEY
from monitor.core import Core
from monitor.events import NoticeLevel, TechnicalNotice

log = logging.getLogger(__name__)

STALL_S: Final = 5.0  # a heartbeat older than this is a failed alarm system
MIN_SOUND_S: Final = 120.0  # IEC 60601-1-8 (clinical.md §4.5): the failure signal lasts ≥ 120 s
BEEP_INTERVAL_S: Final = 1.0
POLL_S: Final = 0.5


class FallbackSound(Protocol):
    def beep(self) -> None:
        """One burst of the fallback signal; called from the watchdog thread."""
        ...

    def close(self) -> None: ...


def fallback_wav(rate: int = 16_000) -> bytes:
    """Three 150 ms pulses at 880 Hz with odd harmonics (a high-priority-like burst), 16-bit mono."""
    frames = bytearray()
    pulse, gap = int(0.150 * rate), int(0.100 * rate)
    for _ in range(3):
        for i in range(pulse):
            t = i / rate
            ramp = min(1.0, i / (0.015 * rate), (pulse - i) / (0.015 * rate))
            v = sum(math.sin(2 * math.pi * 880.0 * k * t) / k for k in (1, 3, 5, 7, 9)) * 0.35 * ramp
            frames += struct.pack("<h", int(max(-1.0, min(1.0, v)) * 32767))
        frames += b"\0\0" * gap
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


class OsFallbackTone:
    """BEL to ``tty`` (else stderr) on every beep, plus the generated WAV through ``player``
    (default: ``paplay`` or ``aplay`` if installed; ``""`` for none), one playback at a time."""

    def __init__(self, tty: str = "/dev/tty", player: str | None = None) -> None:
        self._tty = tty
        self._player = (shutil.which("paplay") or shutil.which("aplay") or "") if player is None else player
        self._wav: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.beeps = 0

    def beep(self) -> None:
        self.beeps += 1
        try:
            with open(self._tty, "wb", buffering=0) as tty:
                tty.write(b"\a")
        except OSError:
            try:
                sys.stderr.write("\a")
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
        if self._player and (self._proc is None or self._proc.poll() is not None):
            try:
                self._proc = subprocess.Popen(
                    [self._player, str(self._wav_path())],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            except OSError as exc:
                log.error("fallback tone: cannot run %s (%s); the terminal bell remains", self._player, exc)
                self._player = ""

    def _wav_path(self) -> Path:
        if self._wav is None:
            fd, name = tempfile.mkstemp(prefix="session-monitor-fallback-", suffix=".wav")
            with os.fdopen(fd, "wb") as f:
                f.write(fallback_wav())
            self._wav = Path(name)
        return self._wav

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
            try:
                self._proc.wait(2.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._wav is not None:
            self._wav.unlink(missing_ok=True)
            self._wav = None


class AlarmWatchdog:
    """``heartbeats``: name → a callable giving the monotonic time of that part's last sign of life.
    ``on_failure(message, active)``: told when the fallback starts (True) and when it ends (False)."""

    def __init__(
        self,
        heartbeats: Mapping[str, Callable[[], float]],
        sound: FallbackSound,
        on_failure: Callable[[str, bool], None] | None = None,
        *,
        stall_s: float = STALL_S,
        min_sound_s: float = MIN_SOUND_S,
        beep_interval_s: float = BEEP_INTERVAL_S,
        poll_s: float = POLL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._heartbeats = dict(heartbeats)
        self._sound = sound
        self._on_failure = on_failure or (lambda message, active: None)
        self._stall_s, self._min_sound_s = stall_s, min_sound_s
        self._beep_interval_s, self._poll_s = beep_interval_s, poll_s
        self._clock = clock
        self._since: float | None = None  # when the fallback started
        self._next_beep = 0.0
        self.fired_at: float | None = None  # the latest start of the fallback (tests, logs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def sounding(self) -> bool:
        return self._since is not None

    def stalled(self, now: float | None = None) -> list[str]:
        """The parts whose heartbeat is older than ``stall_s`` (a heartbeat that raises counts)."""
        now = self._clock() if now is None else now
        out = []
        for name, beat in self._heartbeats.items():
            try:
                age = now - beat()
            except Exception:
                log.exception("alarm watchdog: heartbeat %s failed", name)
                age = math.inf
            if age > self._stall_s:
                out.append(name)
        return out

    def poll(self) -> None:
        """One check: start, keep up or end the fallback signal (the thread calls this)."""
        now = self._clock()
        stalled = self.stalled(now)
        if stalled and self._since is None:
            self._since = self.fired_at = now
            self._next_beep = now
            message = (
                f"Alarm system failure: {', '.join(stalled)} stopped for more than {self._stall_s:.0f} s — fallback tone sounding"
            )
            log.critical("%s", message)
            self._report(message, True)
        if self._since is None:
            return
        if not stalled and now - self._since >= self._min_sound_s:
            self._since = None
            log.warning("alarm watchdog: heartbeats back; fallback tone ended")
            self._report("", False)
            return
        if now >= self._next_beep:
            try:
                self._sound.beep()
            except Exception:
                log.exception("alarm watchdog: fallback tone failed")
            self._next_beep = max(self._next_beep + self._beep_interval_s, now)

    def _report(self, message: str, active: bool) -> None:
        try:
            self._on_failure(message, active)
        except Exception:
            log.exception("alarm watchdog: reporting failed")

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("alarm watchdog already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alarm-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            self.poll()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._sound.close()


def watch_core_and_display(
    core: Core, display_heartbeat: Callable[[], float], sound: FallbackSound | None = None, **options: Any
) -> AlarmWatchdog:
    """The bedside wiring: watch ``core.last_alarm_tick`` and the GUI's frame heartbeat; report a
    failure as a CRITICAL technical notice (the core records it and raises the HIGH technical alarm
    "alarm system failure"; if the core itself hangs, it does so once it runs again) and its end as
    an inactive one. ``options`` go to ``AlarmWatchdog`` (tests: ``clock``, ``stall_s``, ...)."""

    def report(message: str, active: bool) -> None:  # watchdog thread: only queues into the core
        level = NoticeLevel.CRITICAL if active else NoticeLevel.INFO
        core.post_notice(
            TechnicalNotice(WATCHDOG_NOTICE_KEY, message or "alarm system running again", level, core.clock.now(), active)
        )

    heartbeats = {"alarm engine": lambda: core.last_alarm_tick, "display": display_heartbeat}
    return AlarmWatchdog(heartbeats, sound if sound is not None else OsFallbackTone(), report, **options)
