"""The dashboard in a real X server at the screen sizes people have (issue 14: "the tests must see
what people see"): 1024×600 (a small bedside panel), 1366×768 (a laptop) and 1920×1080.

Offscreen, Qt grants a window any size it asks for, so a window that grows past the screen looks
right in an offscreen grab. Here each size gets its own Xvfb, and ``real_window_child`` shows the
window there as the bedside program does, walks through a lost device with a long reason, an alarm,
Acknowledge, Audio paused and the Limits dialog, and reports what is on screen after each step
(geometry from Qt and from the X server). The rest of the suite stays offscreen (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ui import theme

from .real_window_child import LOST_DETAIL

pytestmark = [pytest.mark.realx, pytest.mark.slow]

SIZES = ("1024x600", "1366x768", "1920x1080")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Steps after which an alarm message is on the bar (``real_window_child.Walk.run``).
ALARM_STEPS = ("session", "long_status", "alarm", "acknowledged", "audio_paused", "limits")


def start_xvfb(size: str) -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb of one screen ``size``; it picks a free display number and writes it to a pipe."""
    if shutil.which("Xvfb") is None:
        message = "Xvfb is not installed: run scripts/install-system-deps.sh --with-postgres (Debian package xvfb)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        proc.wait(10)
        pytest.fail(f"Xvfb {size} did not start (exit code {proc.poll()})")
    return proc, f":{number}"


def walk(size: str) -> dict[str, dict]:
    proc, display = start_xvfb(size)
    try:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=REPO)
        run = subprocess.run(
            [sys.executable, "-m", "tests.gui.real_window_child"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        proc.terminate()
        proc.wait(10)
    assert run.returncode == 0, f"the real-window walk at {size} failed:\n{run.stderr[-4000:]}"
    steps = {}
    for line in run.stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            steps[data["step"]] = data
    return steps


@pytest.fixture(scope="module", params=SIZES)
def screen(request) -> Iterator[tuple[str, dict[str, dict]]]:
    yield request.param, walk(request.param)


def inside(inner: list[int], outer: list[int]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def intersects(a: list[int], b: list[int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def test_window_fills_the_screen_and_no_text_ever_resizes_it(screen):
    """Defects 1 and 5: the window is fitted to the real screen and stays so whatever text arrives."""
    size, steps = screen
    for step, d in steps.items():
        assert d["frame"] == d["available"], f"{size} after {step}: window {d['frame']} on a screen of {d['available']}"
        assert d["x_geometry"] is None or inside(d["x_geometry"], d["screen"]), f"{size} after {step}: X says {d['x_geometry']}"
        w, h = d["minimum"]
        assert w <= d["available"][2] and h <= d["available"][3], f"{size} after {step}: minimum size {w}×{h}"


def test_a_technical_notice_is_shown_without_resizing_the_window(screen):
    size, steps = screen
    d = steps["notice"]
    assert any("previous run ended" in t for t in d["banner"]), d["banner"]
    assert d["frame"] == d["available"], f"{size}: window {d['frame']} with a notice on a screen of {d['available']}"


def test_alarm_bar_tiles_buttons_and_status_line_are_on_the_screen(screen):
    """Defect 5: at 1366×768 the device status line fell off the bottom; at 1024×600 the window
    could not be shown at all."""
    size, steps = screen
    for step, d in steps.items():
        for part, r in d["parts"].items():
            assert d["parts_visible"][part], f"{size} after {step}: {part} hidden"
            assert inside(r, d["screen"]), f"{size} after {step}: {part} at {r} is off the screen {d['screen']}"


def test_tiles_stay_readable_from_3_m(screen):
    size, steps = screen
    for step, d in steps.items():
        assert d["tile_value_px"] >= theme.VALUE_MIN_PX, f"{size} after {step}: tile values {d['tile_value_px']} px"


def test_the_most_urgent_alarm_message_is_readable_whole(screen):
    """Defect 2: "** DBP 110 ≥ 110 (ac" after Acknowledge, "** D" with audio paused,
    "Alarm sound unavailable: no au…": the message's rendered text fits its label (or wraps)."""
    size, steps = screen
    for step in ALARM_STEPS:
        m = steps[step]["message"]
        assert m["text"].startswith("**") or m["text"].startswith("*"), f"{size} after {step}: no alarm on the bar: {m}"
        assert m["fits"], f"{size} after {step}: {m['text']!r} needs {m['needed']} in a label of {m['area']}"
    assert "acknowledged" in steps["acknowledged"]["message"]["text"]


def test_no_missing_glyphs_in_the_indicators(screen):
    """Defect 2: the pause indicator's bell was a missing-glyph box in the installed fonts."""
    size, steps = screen
    assert "PAUSED" in steps["audio_paused"]["indicator"].upper()
    for step, d in steps.items():
        missing = {text: chars for text, chars in d["glyphs"].items() if chars}
        assert not missing, f"{size} after {step}: characters the font cannot draw: {missing}"


def test_a_long_device_status_is_elided_with_the_whole_text_in_its_tooltip(screen):
    """Defect 1: the lost-device reason is in the tooltip word for word, and the line stays on screen."""
    _size, steps = screen
    d = steps["long_status"]
    assert any(LOST_DETAIL in tip for tip in d["status_tooltips"]), d["status_tooltips"]
    assert any(text.startswith("● Bedside oximeter: lost") for text in d["status_texts"].values()), d["status_texts"]


def test_limits_dialog_hides_neither_the_alarm_bar_nor_the_tiles(screen):
    """Defect 6: the Limits… dialog covered the alarm bar and most tiles while monitoring went on."""
    size, steps = screen
    d = steps["limits"]
    assert d["dialog_visible"]
    for part in ("alarm_bar", "tiles"):
        assert not intersects(d["dialog"], d["parts"][part]), (
            f"{size}: Limits dialog {d['dialog']} over the {part} {d['parts'][part]}"
        )
    assert inside(d["dialog"], d["screen"]), f"{size}: Limits dialog {d['dialog']} off the screen {d['screen']}"


def test_every_checkpoint_chip_is_shown_whole(screen):
    """Defect 5: the checkpoint strip overflowed at ≤ 1366 px (chips cut off at the window's edge)."""
    size, steps = screen
    for step in ("session", "alarm"):
        d = steps[step]
        assert len(d["chips"]) >= 12, d["chips"]
        assert not d["chips_clipped"], f"{size} after {step}: chips cut off: {d['chips_clipped']}"
