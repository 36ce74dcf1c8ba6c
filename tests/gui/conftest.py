"""Fixtures for dashboard tests: a real Core on a FakeClock, no recorder, no threads, no frame timer.

Tests drive frames by hand: ``feed`` readings, then ``frame()`` = core.process_pending() + adapter.tick().
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from monitor.clock import FakeClock
from monitor.core import Core
from ui.core_adapter import CoreAdapter
from ui.main_window import MainWindow

from .helpers import T_START


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T_START)


@pytest.fixture
def core(clock: FakeClock) -> Core:
    return Core(clock)


@pytest.fixture
def adapter(core: Core) -> CoreAdapter:
    return CoreAdapter.for_core(core)


@pytest.fixture
def window(qtbot, core: Core, clock: FakeClock, adapter: CoreAdapter) -> MainWindow:
    w = MainWindow(core, clock, adapter, label_interval_s=0.0)  # no label throttle: every tick updates
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def frame(core: Core, adapter: CoreAdapter) -> Callable[[], None]:
    def run() -> None:
        core.process_pending()
        adapter.tick()

    return run
