"""Issue 13, finding 9: ``export -o PATH`` writes only a new path or a regular file — never a FIFO,
a device (through a symlink onto the null device), a folder — and replaces an existing file only
with ``--force``; what it writes is 0600. The real /dev/null is never a target: a symlink in
tmp_path points at it, and the test checks the symlink is refused and left as it was."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gui.review_fixtures import record_synthetic

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.posix]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('exports') / 'syn.db'}"
    record_synthetic(url, "SYN-9")
    return url


def _export(url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    cmd = [sys.executable, "-m", "app", "export", "--db", url, "--format", "json", "-o", str(out), *extra]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _refused(p: subprocess.CompletedProcess[str], *words: str) -> None:
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    for word in words:
        assert word in p.stderr, p.stderr


def test_a_fifo_is_refused_and_left_a_fifo(recorded, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _refused(_export(recorded, fifo, "--force"), str(fifo), "FIFO")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_symlink_onto_a_device_is_refused_and_kept(recorded, tmp_path):
    link = tmp_path / "null-link"
    link.symlink_to(os.devnull)
    _refused(_export(recorded, link, "--force"), str(link), "character device")
    assert link.is_symlink() and os.readlink(link) == os.devnull
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_folder_is_refused(recorded, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    _refused(_export(recorded, folder, "--force"), str(folder), "folder")
    assert folder.is_dir() and not any(folder.iterdir())


def test_an_existing_file_is_replaced_only_with_force(recorded, tmp_path):
    out = tmp_path / "report.json"
    out.write_text("yesterday's report")
    _refused(_export(recorded, out), str(out), "--force")
    assert out.read_text() == "yesterday's report"
    p = _export(recorded, out, "--force")
    assert p.returncode == 0, p.stderr
    assert json.loads(out.read_text())["session"]["patient_id"] == "SYN-9"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_symlink_onto_a_regular_file_replaces_that_file_and_keeps_the_link(recorded, tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    p = _export(recorded, link, "--force")
    assert p.returncode == 0, p.stderr
    assert link.is_symlink() and json.loads(real.read_text())["session"]["patient_id"] == "SYN-9"


def test_a_new_file_is_written_0600(recorded, tmp_path):
    out = tmp_path / "new.json"
    p = _export(recorded, out)
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
