"""CoreAdapter: drains the core's event queue, then announces exactly one frame per tick."""

from __future__ import annotations

import pytest

from monitor.events import NoticeLevel, TechnicalNotice
from monitor.readings import DeviceStatus, LinkState
from ui.core_adapter import CoreAdapter


def test_tick_drains_events_in_order_then_emits_one_frame(qtbot, core, clock):
    adapter = CoreAdapter.for_core(core)
    got: list[object] = []
    frames: list[float] = []
    adapter.event_received.connect(got.append)
    adapter.frame.connect(frames.append)
    status = DeviceStatus("sim:a", LinkState.LOST, clock.now(), "gone")
    notice = TechnicalNotice("recorder", "disk full", NoticeLevel.CRITICAL, clock.now())
    core.ui_events.put(status)
    core.ui_events.put(notice)

    adapter.tick()

    assert got == [status, notice]
    assert frames == [clock.now()]
    assert core.ui_events.empty()
    clock.advance(1.0)
    adapter.tick()
    assert got == [status, notice]  # nothing new: no event signal
    assert frames == [clock.now() - 1.0, clock.now()]
    assert adapter.frames == 2


def test_timer_is_only_running_between_start_and_stop(qtbot, core):
    adapter = CoreAdapter.for_core(core, frame_ms=16)
    assert not adapter.running
    with qtbot.waitSignal(adapter.frame, timeout=2000):
        adapter.start()
    assert adapter.running
    adapter.stop()
    assert not adapter.running


def test_adapter_accepts_a_core_or_a_queue_and_clock(qtbot, core, clock):
    assert CoreAdapter(core).clock is clock
    assert CoreAdapter(core.ui_events, clock).clock is clock
    with pytest.raises(TypeError, match="needs a Core"):
        CoreAdapter(core.ui_events)
