"""Guards against toolchain builds that break long runs (house style §8, §9.1)."""

import sys

from PySide6.QtCore import QTimer


def test_pyside_keeps_none_refcount(qapp):
    """PySide6 6.12.0 on Python 3.11 drops a None reference per void call and aborts long sessions."""
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(10_000):
        timer.stop()
    assert sys.getrefcount(None) - before > -1_000
