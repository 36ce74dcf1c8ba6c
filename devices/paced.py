"""The thread skeleton shared by the simulated and replay drivers: samples on a fixed grid of session
time, emitted once the session clock has passed them.

The grid is anchored at the session time the driver started (``origin``), so what a driver emits
depends only on that grid and never on how the thread happens to be scheduled; at any clock speed
(1x-600x, or a ``FakeClock`` jumping hours) the loop simply catches up in bounded steps.
"""

from __future__ import annotations

import abc
import enum
import logging
import threading

from monitor.clock import Clock
from monitor.errors import KnownError
from monitor.ports import DeviceInfo, DriverSink
from monitor.readings import DeviceStatus, LinkState

log = logging.getLogger(__name__)

#: Real seconds between polls of the clock (at most 20 ms, so blocks stay small at 1x).
POLL_S = 0.02
#: At most this much session time is emitted per loop step; the loop then continues without
#: sleeping, so a clock jump of hours is caught up in bounded blocks and stop() stays responsive.
MAX_STEP_S = 600.0


class Progress(enum.Enum):
    IDLE = "idle"  # everything due has been emitted: sleep until the next poll
    BEHIND = "behind"  # more is due than one step emits: go on without sleeping
    FINISHED = "finished"  # nothing more will ever be due (end of a recording)


class PacedDriver(abc.ABC):
    """Owns the ``driver:<source>`` thread: register, CONNECTING, STREAMING, emit what is due, STOPPED.

    Environmental failures (``KnownError``, ``OSError``) become a LOST status with the message as
    detail; anything else is a bug and propagates to ``threading.excepthook``.
    """

    def __init__(self, clock: Clock, info: DeviceInfo) -> None:
        self._clock = clock
        self._info = info
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._origin: float | None = None

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def origin(self) -> float | None:
        """Session time of sample 0 (when the driver started); None before ``start``."""
        return self._origin

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, sink: DriverSink) -> None:
        if self._thread is not None:
            raise RuntimeError(f"driver {self._info.source} was already started; create a new one")
        self._origin = self._clock.now()
        self._thread = threading.Thread(target=self._run, args=(sink,), name=f"driver:{self._info.source}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to finish (it reports STOPPED) and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("driver %s did not stop within %.1f s", self._info.source, timeout_s)

    def _run(self, sink: DriverSink) -> None:
        source = self._info.source
        sink.register_device(self._info)
        sink.put_status(DeviceStatus(source, LinkState.CONNECTING, self._clock.now()))
        try:
            self._open()
            sink.put_status(DeviceStatus(source, LinkState.STREAMING, self._clock.now()))
            while not self._stop.is_set():
                progress = self._step(self._clock.now(), sink)
                if progress is Progress.FINISHED:
                    sink.put_status(DeviceStatus(source, LinkState.STOPPED, self._clock.now(), self._finished_detail()))
                    return
                if progress is Progress.IDLE:
                    self._stop.wait(POLL_S)
        except (KnownError, OSError) as exc:
            log.warning("driver %s lost: %s", source, exc, exc_info=True)
            sink.put_status(DeviceStatus(source, LinkState.LOST, self._clock.now(), str(exc)))
            return
        finally:
            self._close()
        sink.put_status(DeviceStatus(source, LinkState.STOPPED, self._clock.now(), "stopped"))

    # ---- for subclasses ----------------------------------------------------------------------
    def _open(self) -> None:  # noqa: B027 - an optional hook, not every driver holds a resource
        """Acquire resources in the driver thread (may raise KnownError / OSError)."""

    def _close(self) -> None:  # noqa: B027 - an optional hook
        """Release resources; runs on every exit path of the thread."""

    def _finished_detail(self) -> str:
        return "finished"

    @abc.abstractmethod
    def _step(self, now: float, sink: DriverSink) -> Progress:
        """Emit (a bounded amount of) what is due at session time ``now``."""


def due_count(origin: float, fs: float, now: float, offset_s: float = 0.0) -> int:
    """How many grid samples ``origin + offset_s + k / fs`` (k = 0, 1, ...) are due at ``now``.

    The tiny epsilon keeps a clock that lands exactly on a grid time (FakeClock) from missing the
    sample through float rounding.
    """
    x = (now - origin - offset_s) * fs
    if x < -1e-9:
        return 0
    return int(x + 1e-9) + 1
