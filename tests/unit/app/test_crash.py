"""A bug in any thread reaches the crash handler: logged, reported to a file, never swallowed."""

import threading

from app.crash import CrashHandler


def test_a_bug_in_a_worker_thread_is_reported(tmp_path, caplog):
    handler = CrashHandler(directory=tmp_path)
    handler.install()
    try:

        def buggy():
            raise ZeroDivisionError("division by zero in a driver")

        t = threading.Thread(target=buggy, name="driver:test")
        t.start()
        t.join()
    finally:
        handler.uninstall()
    assert handler.crashed is not None
    assert "ZeroDivisionError" in handler.crashed and "driver:test" in handler.crashed
    report = handler.report_path.read_text()
    assert "division by zero in a driver" in report and "Traceback" in report
    assert any("unhandled exception in thread driver:test" in r.message for r in caplog.records)


def test_only_the_first_bug_names_the_crash_but_every_one_is_logged(tmp_path, caplog):
    handler = CrashHandler(directory=tmp_path)
    handler.install()
    try:
        for exc in (KeyError("first"), ValueError("second")):
            handler.report(type(exc), exc, None, "core")
    finally:
        handler.uninstall()
    assert "KeyError" in handler.crashed
    assert sum("unhandled exception" in r.message for r in caplog.records) == 2
    assert len(list(tmp_path.glob("crash-*.txt"))) == 1


def test_a_previous_crash_is_mentioned_once(tmp_path):
    (tmp_path / "crash-20260101-000000.txt").write_text("old report")
    first = CrashHandler(directory=tmp_path)
    first.install()
    first.uninstall()
    assert first.previous_crash is not None and first.previous_crash.read_text() == "old report"
    second = CrashHandler(directory=tmp_path)
    second.install()
    second.uninstall()
    assert second.previous_crash is None
