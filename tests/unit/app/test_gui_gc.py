"""Cyclic garbage holding Qt objects is collected on the GUI thread, never on a worker (app.gui_gc)."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject

from app import gui_gc


def test_cyclic_qt_garbage_is_collected_by_the_gui_thread_timer(qtbot):
    gui_gc.install(interval_s=0.05)
    assert not gc.isenabled()  # a worker allocating can no longer trigger a collection

    destroyed_on: list[threading.Thread] = []

    class Holder:
        pass

    def make_garbage() -> weakref.ref[QObject]:
        holder = Holder()
        holder.obj = QObject()
        holder.obj.destroyed.connect(lambda *_: destroyed_on.append(threading.current_thread()))
        holder.me = holder  # a reference cycle: only the cyclic collector frees it
        return weakref.ref(holder.obj)

    ref = make_garbage()
    churn = [[i] for i in range(2_000)]  # over the first generation's threshold, as a busy program is
    qtbot.waitUntil(lambda: ref() is None, timeout=3_000)
    assert destroyed_on == [threading.main_thread()] and len(churn) == 2_000
