"""Test-wide rules: Qt runs offscreen, no test leaves a thread behind, tests needing Qt are marked."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt; CI may override

import gc
import tempfile
import threading
from pathlib import Path

# The workstation's remembered devices must never leak into tests (nor tests' into the workstation):
# every test, and every program a test starts, sees an empty device list of its own.
_DEVICE_DIR = tempfile.mkdtemp(prefix="sm-test-devices-")
os.environ["SESSION_MONITOR_DEVICES"] = os.path.join(_DEVICE_DIR, "devices.json")
# Likewise the workstation's alarm configuration (HR-limit confirmation, responsible-organization PIN).
os.environ["SESSION_MONITOR_WORKSTATION"] = os.path.join(_DEVICE_DIR, "workstation.json")
# And the emergency journal (recordings.journal): never the user's state folder.
os.environ["SESSION_MONITOR_JOURNAL_DIR"] = os.path.join(_DEVICE_DIR, "journal")

import pytest  # noqa: E402 - the environment above must be set before any project module is imported

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if {"qtbot", "qapp"} & set(getattr(item, "fixturenames", ())):
            item.add_marker("gui")


@pytest.fixture(scope="session", autouse=True)
def collect_garbage_on_the_main_thread_only():
    """As in the programs (``app.gui_gc``): no automatic cyclic collection, which could run on a
    recorder, core or device thread and destroy Qt objects there (a deadlock, seen in CI); the main
    thread collects after every test instead (``collect_after_test``)."""
    gc.disable()
    gc.collect()
    gc.freeze()  # what is alive now (imported modules) is never garbage: later collections skip it
    yield
    gc.unfreeze()
    gc.enable()


@pytest.fixture(autouse=True)
def collect_after_test():
    yield
    gc.collect()  # before the next test (or the next module's fixtures) start threads


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    deadline = threading.Event()
    for _ in range(20):  # give stopping threads a moment to finish joining
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left:
            break
        deadline.wait(0.05)
    assert not left, f"test left threads running: {[t.name for t in left]}"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def db_url(tmp_path) -> str:
    """A temporary file SQLite database (the writer is another thread, so never :memory:)."""
    return f"sqlite:///{tmp_path / 'session.db'}"
