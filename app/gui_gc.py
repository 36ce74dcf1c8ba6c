"""Cyclic garbage is collected on the GUI thread only.

Why: Python's collector runs on whichever thread happens to allocate. When that is the recorder, the
core, a device or the review's summary worker, and the garbage holds Qt objects (a closed dialog or
review window: pyqtgraph items live in reference cycles), Qt destroys them off the GUI thread and
can deadlock against it — seen in CI: the recorder thread inside ``QObject::~QObject`` waiting for
the GIL, held by the main thread waiting for Qt's signal-slot mutex. A frozen bedside monitor is not
acceptable, so automatic collection is turned off and a GUI-thread timer collects instead
(pyqtgraph's ``GarbageCollector``: same generation thresholds, checked every second).

A full collection on the GUI thread scans every object in the program (~100 ms, a visible stall
of the live plots), so once the program is built ``freeze_startup`` moves what exists then (modules,
the main window) out of the collector's sight: later collections scan only what came after.
"""

from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector

_collector: GarbageCollector | None = None


def install(interval_s: float = 1.0) -> None:
    """Collect on the GUI thread from now on (call once the QApplication exists, on its thread)."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=interval_s)


def freeze_startup() -> None:
    """Collect once, then exempt everything alive now from later collections (it lives as long as
    the program anyway), so the GUI thread's collections stay short."""
    gc.collect()
    gc.freeze()
