"""One driver for every serial protocol: a pyserial port (``/dev/ttyUSB0``, ``COM3``, ``socket://``,
``rfc2217://``, ``loop://``) read in its own ``driver:<source>`` thread, bytes through a sans-I/O
decoder, readings and pleth blocks to the core.

Link states: CONNECTING on the first attempt, STREAMING once frames decode, LOST with a reason the
nurse can act on when the port vanishes (an unplugged USB adapter, a closed pty master, a dropped
TCP connection); the core's watchdog adds NO_DATA for a silent device. After a loss the driver
reopens the port with back-off (0.5 s doubling to 5 s) until ``stop()``; each connection gets a fresh
decoder, since half a frame from before the gap means nothing. Environmental faults (pyserial and OS
errors) never escape the thread; anything else is a bug and reaches ``threading.excepthook``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import serial

from devices.decoding import ConversingDecoder, Decoder, DecoderSpec, WaveformDecoder, to_readings
from monitor.clock import Clock
from monitor.ports import DeviceInfo, DriverSink
from monitor.readings import DeviceStatus, LinkState, WaveformBlock

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.1
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 5.0
#: Resend the start commands when a conversing device has sent no frame for this long.
RESTART_AFTER_S = 3.0

PortFactory = Callable[..., Any]


def source_for(url: str) -> str:
    """A short, stable source name: ``serial:ttyUSB0``, ``serial:COM3``, ``serial:127.0.0.1:5000``."""
    if "://" in url:
        scheme, rest = url.split("://", 1)
        return "serial:" + (rest.split("?", 1)[0].strip("/") or scheme)
    return "serial:" + os.path.basename(url.rstrip("/\\"))


class SerialDriver:
    """Implements ``monitor.ports.Driver`` for a serial (or serial-over-TCP) device."""

    def __init__(
        self,
        url: str,
        decoder_spec: DecoderSpec,
        clock: Clock,
        source: str | None = None,
        label: str | None = None,
        baud: int | None = None,
        port_factory: PortFactory = serial.serial_for_url,
        backoff_s: tuple[float, float] = (BACKOFF_MIN_S, BACKOFF_MAX_S),
    ) -> None:
        self._url = url
        self._spec = decoder_spec
        self._clock = clock
        self._baud = baud or decoder_spec.default_baud or 9600
        self._port_factory = port_factory
        self._backoff = backoff_s
        spec = decoder_spec
        self._info = DeviceInfo(source or source_for(url), label or f"{spec.name} on {url}", spec.device_kind, spec.stale_after_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wave_end: dict[str, float] = {}
        self.decoder: Decoder | None = None  # the current connection's decoder (stats for the "Test" button)

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def url(self) -> str:
        return self._url

    def start(self, sink: DriverSink) -> None:
        if self._thread is not None:
            raise RuntimeError(f"driver {self._info.source} was already started; create a new one")
        self._thread = threading.Thread(target=self._run, args=(sink,), name=f"driver:{self._info.source}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("driver %s did not stop within %.1f s", self._info.source, timeout_s)

    # ---- the driver thread ---------------------------------------------------------------------
    def _status(self, sink: DriverSink, state: LinkState, detail: str = "") -> None:
        sink.put_status(DeviceStatus(self._info.source, state, self._clock.now(), detail))

    def _run(self, sink: DriverSink) -> None:
        sink.register_device(self._info)
        self._status(sink, LinkState.CONNECTING, f"opening {self._url}")
        delay = self._backoff[0]
        while not self._stop.is_set():
            try:
                port = self._port_factory(
                    self._url,
                    baudrate=self._baud,
                    parity=self._spec.parity,
                    bytesize=self._spec.bytesize,
                    stopbits=self._spec.stopbits,
                    timeout=READ_TIMEOUT_S,
                )
            except (serial.SerialException, OSError, ValueError) as exc:
                self._status(
                    sink, LinkState.LOST, f"cannot open {self._url}: {_reason(exc)} — check the cable and the port; retrying"
                )
                log.info("driver %s: open failed: %s", self._info.source, exc)
            else:
                try:
                    if self._stream(port, sink):
                        delay = self._backoff[0]  # it worked for a while: start the back-off afresh
                except (serial.SerialException, OSError) as exc:
                    if not self._stop.is_set():
                        log.warning("driver %s lost: %s", self._info.source, exc)
                        self._status(sink, LinkState.LOST, f"connection lost: {_reason(exc)} — check the cable; reconnecting")
                finally:
                    try:
                        port.close()
                    except (serial.SerialException, OSError) as exc:
                        log.debug("driver %s: close failed: %s", self._info.source, exc)
            if self._stop.wait(delay):
                break
            delay = min(delay * 2.0, self._backoff[1])
        self._status(sink, LinkState.STOPPED, "stopped")

    def _stream(self, port: Any, sink: DriverSink) -> bool:
        """Read until stop or a port error; True if frames were decoded on this connection."""
        decoder = self._spec.factory()
        self.decoder = decoder
        self._wave_end.clear()
        _modem_lines_on(port)
        talk = decoder if isinstance(decoder, ConversingDecoder) else None
        wave = decoder if isinstance(decoder, WaveformDecoder) else None
        if talk is not None:
            port.write(talk.start_commands())
        interval = talk.keepalive_interval_s if talk is not None else None
        next_keepalive = time.monotonic() + (interval or 0.0)
        last_frame = time.monotonic()
        frames_seen = 0
        streaming = False
        source = self._info.source
        while not self._stop.is_set():
            data = port.read(port.in_waiting or 1)
            if data:
                measurements = decoder.feed(data)
                now = self._clock.now()
                if decoder.stats.frames != frames_seen:
                    frames_seen = decoder.stats.frames
                    last_frame = time.monotonic()
                    if not streaming:
                        streaming = True
                        self._status(sink, LinkState.STREAMING)
                if measurements:
                    sink.put_readings(to_readings(source, measurements, now))
                if wave is not None:
                    for chunk in wave.take_waveform():
                        sink.put_waveform(self._block(chunk.channel, chunk.fs, chunk.samples, now))
                if talk is not None and (reply := talk.take_replies()):
                    port.write(reply)
            if talk is not None and interval is not None and time.monotonic() >= next_keepalive:
                next_keepalive = time.monotonic() + interval
                if time.monotonic() - last_frame > RESTART_AFTER_S:
                    port.write(talk.start_commands())  # it stopped (or never started): ask again
                    last_frame = time.monotonic()
                port.write(talk.keepalive())
        return streaming

    def _block(self, channel: str, fs: float, samples: list[float], now: float) -> WaveformBlock:
        """Stamp a chunk with host time: contiguous with the previous block unless it drifted away
        (then re-anchored so its last sample is ``now``)."""
        n = len(samples)
        estimate = now - n / fs
        prev = self._wave_end.get(channel)
        tolerance = 0.5 * self._clock.speed
        t0 = prev if prev is not None and abs(prev - estimate) < tolerance else estimate
        self._wave_end[channel] = t0 + n / fs
        return WaveformBlock(self._info.source, channel, t0, fs, np.asarray(samples, dtype=np.float64))


def _modem_lines_on(port: Any) -> None:
    """Raise DTR/RTS (some USB oximeters are powered or woken by them); ptys refuse with errno 25."""
    for name in ("dtr", "rts"):
        try:
            setattr(port, name, True)
        except (OSError, serial.SerialException, AttributeError, ValueError) as exc:
            log.debug("cannot set %s: %s", name, exc)


def _reason(exc: BaseException) -> str:
    """The OS's words when there is an errno ("No such file or directory"), else the message."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code)
    text = str(exc).strip()
    return text or type(exc).__name__
