"""The dashboard in a real X window, measured the way a person sees it (run by ``test_real_window``).

``python -m tests.gui.real_window_child`` on an X display (``DISPLAY`` set, ``QT_QPA_PLATFORM=xcb``):
builds the main window on a real core, shows it as the bedside program does, then walks through
what defects 1, 2, 5 and 6 of issue 14 were seen with — a lost device with a long reason, the
"alarm sound unavailable" alarm, a DBP ≥ 110 alarm, Acknowledge, Audio paused, the Limits dialog —
and after each step prints what is on the screen (geometry from Qt and from the X server through
xdotool, the alarm message and whether it fits its label, missing glyphs) as one JSON line per step.
The test asserts on them; this program judges nothing itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from monitor import observations as ob
from monitor.clock import FakeClock
from monitor.core import Core
from monitor.events import NoticeLevel, TechnicalNotice
from monitor.ports import DeviceInfo
from monitor.readings import DeviceStatus, LinkState, Reading
from monitor.schedule import load_templates
from ui.alarm_audio import NullSound
from ui.core_adapter import CoreAdapter
from ui.main_window import MainWindow

from .helpers import T_START, make_session

#: The device-status text seen on a workstation (issue 14, defect 1), word for word.
LOST_DETAIL = (
    "connection lost: device reports readiness to read but returned no data "
    "(device disconnected or multiple access on port?) — check the cable; reconnecting"
)
CUFF = "serial:/dev/ttyUSB1"
OXIMETER = "serial:/dev/ttyUSB0"


def global_rect(w: QWidget) -> QRect:
    return QRect(w.mapToGlobal(QPoint(0, 0)), w.size())


def rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def x_geometry(window: QWidget) -> list[int] | None:
    """The window's geometry as the X server has it (not as Qt believes), via xdotool."""
    if shutil.which("xdotool") is None:
        return None
    out = subprocess.run(
        ["xdotool", "getwindowgeometry", "--shell", str(int(window.winId()))],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout
    values = dict(line.split("=", 1) for line in out.split() if "=" in line)
    try:
        return [int(values[k]) for k in ("X", "Y", "WIDTH", "HEIGHT")]
    except KeyError:
        return None


def text_fits(label: QLabel) -> dict[str, object]:
    """Whether the label shows its whole text: one line no wider than the label, or word-wrapped
    into no more height than the label has (and no single word wider than it)."""
    text = label.text()
    area = label.contentsRect()
    fm = QFontMetrics(label.font())
    if label.wordWrap():
        needed = fm.boundingRect(QRect(0, 0, area.width(), 100_000), int(label.alignment()) | 0x1000, text)  # TextWordWrap
        widest_word = max((fm.horizontalAdvance(w) for w in text.split()), default=0)
        fits = needed.height() <= area.height() + 1 and widest_word <= area.width()
        need = [needed.width(), needed.height()]
    else:
        need = [fm.horizontalAdvance(text), fm.height()]
        fits = need[0] <= area.width() and need[1] <= area.height() + 1
    return {
        "text": text,
        "fits": bool(fits and label.isVisible()),
        "needed": need,
        "area": [area.width(), area.height()],
        "wrap": label.wordWrap(),
        "visible": label.isVisible(),
    }


def missing_glyphs(label: QLabel) -> list[str]:
    fm = QFontMetrics(label.font())
    return sorted({ch for ch in label.text() if not ch.isspace() and not fm.inFontUcs4(ord(ch))})


class Walk:
    def __init__(self) -> None:
        self.app = QApplication.instance() or QApplication(sys.argv)
        self.clock = FakeClock(T_START)
        self.core = Core(self.clock, templates=load_templates())  # the shipped dosing protocols: the checkpoint strip
        self.adapter = CoreAdapter.for_core(self.core)
        self.window = MainWindow(
            self.core, self.clock, self.adapter, label_interval_s=0.0, sound=NullSound("no audio output device")
        )
        self.window.show_on_screen()  # as the bedside program shows it
        self.settle()

    def settle(self, rounds: int = 8) -> None:
        """Frames and X round trips until the window manager-less X server has configured the window."""
        for _ in range(rounds):
            self.core.process_pending()
            self.adapter.tick()
            self.app.processEvents()
            self.app.sync()
            self.clock.advance(0.05)

    def report(self, step: str, **extra: object) -> None:
        w = self.window
        screen = w.screen()
        bar = w.alarm_bar
        labels = [bar.indicator, bar.more, *w.status_line.findChildren(QLabel), *w.banner.findChildren(QLabel)]
        buttons = [bar.more_button, w.observations.presets_button]
        glyphs = {lab.text(): missing_glyphs(lab) for lab in labels if lab.isVisible()}
        for b in buttons:
            fm = QFontMetrics(b.font())
            glyphs[b.text()] = sorted({ch for ch in b.text() if not ch.isspace() and not fm.inFontUcs4(ord(ch))})
        chips = [c for c in w.observations.chips if c.isVisible()]
        viewport = w.observations.strip_host
        parts = {
            "alarm_bar": w.alarm_bar,
            "tiles": w.tiles,
            "status_line": w.status_line,
            "header": w.header,
            "ack_button": bar.ack_button,
            "limits_button": bar.limits_button,
            "trends": w.trends,
        }
        line = {
            "step": step,
            "screen": rect(screen.geometry()),
            "available": rect(screen.availableGeometry()),
            "frame": rect(w.frameGeometry()),
            "x_geometry": x_geometry(w),
            "minimum": [w.minimumSizeHint().width(), w.minimumSizeHint().height()],
            "parts": {name: rect(global_rect(p)) for name, p in parts.items()},
            "parts_visible": {name: p.isVisible() for name, p in parts.items()},
            "message": text_fits(bar.message),
            "glyphs": glyphs,
            "status_texts": w.status_line.texts(),
            "status_tooltips": [lab.toolTip() for lab in w.status_line.labels().values()],
            "chips": [c.text() for c in chips],
            "chips_clipped": [
                c.text() for c in chips if not viewport.rect().contains(QRect(c.mapTo(viewport, QPoint(0, 0)), c.size()))
            ],
            "tile_value_px": min(getattr(w.tiles, n)._value.pixel_size for n in ("hr", "spo2", "nibp", "rr")),
            "tile_width": w.tiles.width(),
            "trend_width": w.trends.width(),
            **extra,
        }
        print(json.dumps(line), flush=True)

    def run(self) -> None:
        core, clock, w = self.core, self.clock, self.window
        core.start_session(make_session(clock))
        self.settle()
        tpl = core.template
        assert tpl is not None
        clock.advance(30.0)
        t = clock.now()
        core.put_readings([Reading(CUFF, "nibp_sys", t, 128.0), Reading(CUFF, "nibp_dia", t, 82.0)])
        self.settle()
        clock.advance(30.0)
        core.record_observation(
            ob.dose(clock.now(), "RN Jansen", drug=tpl.drug, route=tpl.route, dose_mg=tpl.device_mg or 56.0, lot="L1", device=1)
        )
        clock.advance(40 * 60.0)  # T+40 min: some checkpoints done or due, the rest to come
        self.settle()
        self.report("session")

        core.register_device(DeviceInfo(OXIMETER, "Bedside oximeter", "oximeter", 10.0))
        core.register_device(DeviceInfo(CUFF, "Bedside BP monitor", "nibp", 600.0))
        core.put_status(DeviceStatus(OXIMETER, LinkState.LOST, clock.now(), LOST_DETAIL))
        core.put_status(DeviceStatus(CUFF, LinkState.STREAMING, clock.now(), ""))
        self.settle()
        self.report("long_status")

        t = clock.now()
        core.put_readings([Reading(CUFF, "nibp_sys", t, 150.0), Reading(CUFF, "nibp_dia", t, 110.0)])
        core.put_readings([Reading(CUFF, "nibp_map", t, 123.0)])
        self.settle()
        self.report("alarm")

        w.alarm_bar.ack_button.click()
        self.settle()
        self.report("acknowledged")

        w.alarm_bar.pause_button.click()
        self.settle()
        self.report("audio_paused", indicator=w.alarm_bar.indicator.text())

        dialog = w.open_alarm_limits()
        self.settle(20)
        self.report(
            "limits",
            dialog=rect(dialog.frameGeometry()),
            dialog_x_geometry=x_geometry(dialog),
            dialog_visible=dialog.isVisible(),
        )
        dialog.close()
        self.settle()

        text = "The previous run ended with an internal error; report: /var/lib/session-monitor/crash/2026-12-07T06-10-44.txt"
        core.post_notice(TechnicalNotice("app.previous-crash", text, NoticeLevel.WARNING, clock.now()))
        self.settle()
        self.report("notice", banner=w.banner.texts())
        if len(sys.argv) > 1:  # a screenshot of the real window (for looking at, and the README)
            screen = w.screen()
            screen.grabWindow(0).save(sys.argv[1], "PNG")


if __name__ == "__main__":
    assert os.environ.get("DISPLAY"), "run on an X display"
    Walk().run()
