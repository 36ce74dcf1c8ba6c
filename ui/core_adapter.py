"""The one bridge between the Qt-free core and the widgets.

The GUI pulls at frame rate instead of being pushed per sample (house style §5): one 16 ms timer
drains the core's event queue and then announces one frame; panels redraw from ring-buffer
snapshots in their ``refresh(now)``. Tests call ``tick()`` by hand and never start the timer.
"""

from __future__ import annotations

import logging
import queue

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from monitor.clock import Clock
from monitor.core import Core, UiEvent

log = logging.getLogger(__name__)

#: At most this many events are handed on per frame, so a flood cannot stall the frame.
MAX_EVENTS_PER_TICK = 1000


class CoreAdapter(QObject):
    """Owns the frame timer; emits ``event_received`` per core event and ``frame(now)`` once per tick."""

    #: One core ``UiEvent`` (DeviceStatus | TechnicalNotice | SessionEvent | AlarmEvent | AlarmState),
    #: emitted on the GUI thread during ``tick()`` in queue order, at most MAX_EVENTS_PER_TICK per tick
    #: (the rest wait for the next tick).
    event_received = Signal(object)
    #: ``clock.now()`` (session time, UTC epoch seconds), once per ``tick()`` after that tick's events.
    frame = Signal(float)

    def __init__(
        self,
        events: queue.SimpleQueue[UiEvent] | Core,
        clock: Clock | None = None,
        frame_ms: int = 16,
        parent: QObject | None = None,
    ) -> None:
        """``CoreAdapter(core)``, or ``CoreAdapter(core.ui_events, clock)`` for a queue of one's own."""
        super().__init__(parent)
        if isinstance(events, Core):
            clock = clock or events.clock
            events = events.ui_events
        if clock is None or not hasattr(events, "get_nowait"):
            raise TypeError("CoreAdapter needs a Core, or an event queue and a clock")
        self._events: queue.SimpleQueue[UiEvent] = events
        self._clock: Clock = clock
        self.frames = 0  # frame counter (debug overlay, bench)
        self._timer = QTimer(self)
        self._timer.setInterval(frame_ms)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.tick)

    @classmethod
    def for_core(cls, core: Core, frame_ms: int = 16, parent: QObject | None = None) -> CoreAdapter:
        """The adapter for ``core``'s event queue and clock (what the app normally wants)."""
        return cls(core.ui_events, core.clock, frame_ms, parent)

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def tick(self) -> None:
        """Hand on the queued events, then announce one frame."""
        for _ in range(MAX_EVENTS_PER_TICK):
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            self.event_received.emit(event)
        self.frames += 1
        self.frame.emit(self._clock.now())
