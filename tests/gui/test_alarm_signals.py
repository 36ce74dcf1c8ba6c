"""Alarm signals: flash rates measured from the renderer's own timing, the generated tone bursts
analysed (pulse count, pulse length, burst interval, spectrum), and the dashboard's banner, tile
flash, alarm list, acknowledge and pause countdown."""

from __future__ import annotations

import io
import itertools
import wave

import numpy as np
import pytest

from monitor.alarms import AlarmPriority, Inactivation
from monitor.alarms.engine import AUDIO_NOTICE_KEY
from monitor.events import NoticeLevel
from monitor.readings import Reading
from ui import theme
from ui.alarm_audio import BURSTS, REMINDER, SAMPLE_RATE, AlarmSounder, NullSound, QtAlarmSound, burst, pulse, wav_bytes
from ui.alarm_panel import AlarmBar, Flasher, countdown_text
from ui.core_adapter import CoreAdapter
from ui.main_window import MainWindow

from .helpers import make_session

CUFF = "sim:nibp"


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def measure(lit_samples: list[tuple[float, bool]]) -> tuple[float, float]:
    """(frequency Hz, fraction lit) from rendered (time, lit) samples: rising edges over time."""
    rises = [t for (t0, a), (t, b) in itertools.pairwise(lit_samples) if b and not a]
    freq = (len(rises) - 1) / (rises[-1] - rises[0])
    span = [s for s in lit_samples if rises[0] <= s[0] < rises[-1]]
    return freq, sum(1 for _, lit in span if lit) / len(span)


def drive_frames(fake: FakeTime, render, seconds: float, jitter: bool = True) -> list[tuple[float, bool]]:
    rng = np.random.default_rng(1)
    samples = []
    end = fake.t + seconds
    while fake.t < end:
        samples.append((fake.t, render()))
        fake.t += 0.016 + (rng.uniform(-0.006, 0.010) if jitter else 0.0)  # an uneven frame timer
    return samples


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def alarm_window(qtbot, core, clock, fake_time):
    adapter = CoreAdapter.for_core(core)
    sound = NullSound()
    w = MainWindow(core, clock, adapter, label_interval_s=0.0, sound=sound, flasher=Flasher(fake_time))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    w.start_session(make_session(clock))

    def frame():
        core.process_pending()
        adapter.tick()

    w.frame = frame
    return w


def raise_sbp(core, clock, value: float = 186.0) -> None:
    clock.advance(1)
    core.put_readings([Reading(CUFF, "nibp_sys", clock.now(), value), Reading(CUFF, "nibp_dia", clock.now(), 90.0)])


# ---- flash timing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("priority", "hz"), [(AlarmPriority.HIGH, 2.0), (AlarmPriority.MEDIUM, 0.6)])
def test_banner_flash_rate_and_duty_measured_from_the_renderer(qtbot, core, fake_time, priority, hz):
    bar = AlarmBar(core, lambda: "RN", Flasher(fake_time))
    qtbot.addWidget(bar)
    from monitor.alarms import AlarmCategory, AlarmCondition, AlarmState, ConditionState

    cond = AlarmCondition("k", AlarmCategory.PHYSIOLOGICAL, priority, "SBP 186 ≥ 180", 0.0, ConditionState.ACTIVE)
    bar.on_state(AlarmState(0.0, (cond,)))

    def render() -> bool:
        bar.refresh(0.0)
        return bar.lit

    freq, duty = measure(drive_frames(fake_time, render, 30.0))
    assert freq == pytest.approx(hz, rel=0.05)
    assert duty == pytest.approx(0.5, rel=0.05)
    assert bar.renders >= 2 * 30 * hz - 2  # restyled once per phase change, not per frame
    assert bar.renders < 30 * 60 / 4


def test_low_priority_is_steady_cyan(qtbot, core, fake_time):
    from monitor.alarms import AlarmCategory, AlarmCondition, AlarmState, ConditionState

    bar = AlarmBar(core, lambda: "RN", Flasher(fake_time))
    qtbot.addWidget(bar)
    cond = AlarmCondition("k", AlarmCategory.TECHNICAL, AlarmPriority.LOW, "artefact", 0.0, ConditionState.ACTIVE)
    bar.on_state(AlarmState(0.0, (cond,)))

    def render() -> bool:
        bar.refresh(0.0)
        return bar.lit

    assert all(lit for _, lit in drive_frames(fake_time, render, 5.0))
    bar.resize(600, 60)
    assert bar.grab().toImage().pixelColor(3, 3).name() == theme.ALARM_LOW  # the border, in the alarm colour


def test_a_flash_phase_change_restyles_the_message_not_the_buttons(qtbot, core, fake_time):
    """Re-polishing the bar's buttons on every flash held the GUI thread for ~30 ms, so a tile's new
    value reached the screen two frames late while a HIGH alarm flashed (bench_trip)."""
    from PySide6.QtCore import QEvent, QObject

    from monitor.alarms import AlarmCategory, AlarmCondition, AlarmState, ConditionState

    bar = AlarmBar(core, lambda: "RN", Flasher(fake_time))
    qtbot.addWidget(bar)
    bar.resize(900, 60)
    bar.show()

    class StyleChanges(QObject):
        count = 0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.StyleChange:
                self.count += 1
            return False

    counter = StyleChanges()
    for button in (bar.ack_button, bar.pause_button, bar.more_button, bar.limits_button):
        button.installEventFilter(counter)
    cond = AlarmCondition("k", AlarmCategory.PHYSIOLOGICAL, AlarmPriority.HIGH, "SpO2 85 < 88", 0.0, ConditionState.ACTIVE)
    bar.on_state(AlarmState(0.0, (cond,)))
    seen = set()
    for _, lit in drive_frames(fake_time, lambda: (bar.refresh(0.0), bar.lit)[1], 3.0):
        seen.add(lit)
    assert seen == {True, False} and bar.renders >= 10  # it did flash
    assert counter.count == 0


def test_violated_tile_flashes_in_the_same_colour_and_rate(alarm_window, core, clock, fake_time):
    raise_sbp(core, clock)
    alarm_window.frame()
    tile = alarm_window.tiles.nibp

    def render() -> bool:
        alarm_window.refresh(clock.now())
        assert tile.alarm_colour in (None, theme.ALARM_MEDIUM)
        assert alarm_window.alarm_bar.lit == (tile.alarm_colour is not None)  # banner and tile in phase
        return tile.alarm_colour is not None

    freq, duty = measure(drive_frames(fake_time, render, 30.0))
    assert freq == pytest.approx(0.6, rel=0.05) and duty == pytest.approx(0.5, rel=0.05)
    assert alarm_window.tiles.spo2.alarm_colour is None


# ---- tones ------------------------------------------------------------------------------------------


def pulses(samples: np.ndarray, fs: int = SAMPLE_RATE) -> list[tuple[float, float]]:
    """(onset s, length s) of each pulse, from the envelope."""
    on = np.abs(samples) > 1e-3
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    # join zero crossings inside a pulse: runs separated by < 5 ms are one pulse
    runs: list[list[int]] = []
    idx = np.flatnonzero(on)
    start = prev = int(idx[0])
    for i in idx[1:]:
        if i - prev > 0.005 * fs:
            runs.append([start, prev])
            start = int(i)
        prev = int(i)
    runs.append([start, prev])
    assert edges.size  # sanity
    return [(a / fs, (b - a + 1) / fs) for a, b in runs]


@pytest.mark.parametrize(
    ("priority", "count", "length_s", "interval_s"),
    [(AlarmPriority.HIGH, 10, 0.150, 10.0), (AlarmPriority.MEDIUM, 3, 0.200, 20.0), (AlarmPriority.LOW, 2, 0.200, None)],
)
def test_bursts_pulse_count_length_and_interval(priority, count, length_s, interval_s):
    spec = BURSTS[priority]
    samples = burst(spec)
    found = pulses(samples)
    assert len(found) == count
    for _, length in found:
        assert length == pytest.approx(length_s, abs=0.004)  # ramps reach zero only at the ends
    if interval_s is None:
        assert spec.interval_s is None and len(samples) / SAMPLE_RATE == pytest.approx(found[-1][0] + length_s, abs=0.01)
    else:
        assert len(samples) / SAMPLE_RATE == pytest.approx(interval_s)  # looped: burst start to burst start
    gaps = [b[0] - (a[0] + a[1]) for a, b in itertools.pairwise(found)]
    if priority is AlarmPriority.HIGH:
        short = [gaps[i] for i in (0, 1, 3, 5, 6, 8)]
        assert all(0.050 <= g <= 0.125 for g in short)  # t_s HIGH 50-125 ms (clinical.md §4.4)
        assert gaps[2] > max(short) and gaps[7] > max(short)  # 3 + 2 ...
        assert gaps[4] > gaps[2]  # ... twice
    else:
        assert all(0.125 <= g <= 0.250 for g in gaps)  # t_s MEDIUM/LOW 125-250 ms


@pytest.mark.parametrize("spec", [*BURSTS.values(), REMINDER])
def test_pulse_spectrum_fundamental_and_four_harmonics(spec):
    y = pulse(spec.fundamental_hz, spec.pulse_s)
    n = 1 << 16
    mag = np.abs(np.fft.rfft(y * np.hanning(y.size), n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    peak = freqs[np.argmax(mag)]
    assert 150 <= peak <= 1000
    fundamental = mag[np.argmin(np.abs(freqs - peak))]
    harmonics = []
    for k in range(2, 8):
        band = (freqs > k * peak * 0.97) & (freqs < k * peak * 1.03)
        if k * peak > 4000 or not band.any():
            break
        level_db = 20 * np.log10(mag[band].max() / fundamental)
        if 300 <= k * peak <= 4000 and level_db >= -15:
            harmonics.append(k)
    assert len(harmonics) >= 4, harmonics


def test_wav_is_16_bit_mono_pcm():
    data = wav_bytes(burst(BURSTS[AlarmPriority.MEDIUM]))
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
        assert w.getnframes() == 20 * SAMPLE_RATE


# ---- sound control ----------------------------------------------------------------------------------


def test_only_the_highest_audible_priority_plays_and_reminders_play_once(alarm_window, core, clock):
    sound = alarm_window.sound
    raise_sbp(core, clock)
    alarm_window.frame()
    assert sound.played[-1] is AlarmPriority.MEDIUM
    clock.advance(1)
    core.put_readings([Reading("sim:oximeter", "spo2", clock.now(), 85.0)])
    alarm_window.frame()
    assert sound.played[-1] is AlarmPriority.HIGH
    core.alarms.inactivate(Inactivation.AUDIO_OFF, "RN")
    alarm_window.frame()
    assert sound.played[-1] is None
    clock.advance(core.alarms.preset().reminder_interval_s)
    alarm_window.frame()
    assert sound.reminders == 1


def test_no_audio_output_raises_the_alarm_audio_unavailable_technical_alarm(qtbot, core, clock):
    adapter = CoreAdapter.for_core(core)
    w = MainWindow(core, clock, adapter, label_interval_s=0.0, sound=NullSound("no audio output device"))
    qtbot.addWidget(w)
    w.show()
    core.process_pending()
    adapter.tick()
    top = core.alarms.state().highest
    assert top is not None and top.key == f"notice:{AUDIO_NOTICE_KEY}" and top.priority is AlarmPriority.MEDIUM
    assert "Alarm sound unavailable: no audio output device" in w.alarm_bar.message.text()


@pytest.mark.qt_log_level_fail("CRITICAL")
def test_qt_sound_on_a_machine_without_audio_reports_why(qapp):
    from PySide6.QtMultimedia import QMediaDevices

    sound = QtAlarmSound()
    try:
        if QMediaDevices.audioOutputs():
            pytest.skip("this machine has an audio output")
        assert sound.unavailable_reason() == "no audio output device"
        notices = []
        AlarmSounder(sound, notices.append, type("C", (), {"now": lambda self: 0.0})())
        assert [(n.key, n.level) for n in notices] == [(AUDIO_NOTICE_KEY, NoticeLevel.CRITICAL)]
        sound.play(AlarmPriority.HIGH)  # a no-op, never an exception
    finally:
        sound.close()


# ---- banner, list, acknowledge, pause -----------------------------------------------------------------


def test_banner_names_value_and_limit_and_the_list_follows_the_log(alarm_window, core, clock):
    raise_sbp(core, clock)
    alarm_window.frame()
    assert alarm_window.alarm_bar.message.text() == "** SBP 186 ≥ 180"
    rows = alarm_window.alarm_list.rows()
    assert [(r[1], r[2], r[3]) for r in rows] == [("MEDIUM", "SBP 186 ≥ 180", "active")]
    raise_sbp(core, clock, 192)
    alarm_window.frame()
    assert alarm_window.alarm_bar.message.text() == "** SBP 192 ≥ 180"
    assert alarm_window.alarm_list.rows()[0][2] == "SBP 192 ≥ 180"
    raise_sbp(core, clock, 150)
    alarm_window.frame()
    assert alarm_window.alarm_bar.message.text() == "No alarms"
    assert alarm_window.alarm_list.rows()[0][3].startswith("cleared ")
    assert alarm_window.tiles.nibp.alarm_colour is None


def test_acknowledge_button(alarm_window, core, clock):
    raise_sbp(core, clock)
    alarm_window.frame()
    assert alarm_window.alarm_bar.ack_button.isEnabled()
    alarm_window.alarm_bar.ack_button.click()
    alarm_window.frame()
    assert alarm_window.alarm_bar.message.text().endswith("(acknowledged)")
    assert alarm_window.alarm_list.rows()[0][3] == "acknowledged (RN Jansen)"
    assert alarm_window.sound.played[-1] is None
    assert not alarm_window.alarm_bar.ack_button.isEnabled()


def test_audio_pause_countdown_and_persistent_indicator(alarm_window, core, clock):
    raise_sbp(core, clock)
    alarm_window.frame()
    bar = alarm_window.alarm_bar
    bar.pause_button.click()
    alarm_window.frame()
    assert bar.indicator.isVisible() and bar.indicator.text() == "AUDIO PAUSED 2:00"
    assert bar.resume_button.isEnabled() and alarm_window.sound.played[-1] is None
    clock.advance(75)
    alarm_window.frame()
    assert bar.indicator.text() == "AUDIO PAUSED 0:45"
    clock.advance(45)
    alarm_window.frame()
    alarm_window.frame()
    assert not bar.indicator.isVisible() and alarm_window.sound.played[-1] is AlarmPriority.MEDIUM


def test_alarm_off_indicator_stays_until_resumed(alarm_window, core, clock):
    raise_sbp(core, clock)
    alarm_window.frame()
    bar = alarm_window.alarm_bar
    bar.alarm_off_action.trigger()
    alarm_window.frame()
    assert bar.indicator.text() == "ALARM OFF" and bar.message.text() == "No alarms"
    clock.advance(3600)
    alarm_window.frame()
    assert bar.indicator.text() == "ALARM OFF"
    bar.resume_button.click()
    alarm_window.frame()
    assert not bar.indicator.isVisible() and bar.message.text() == "** SBP 186 ≥ 180"


def test_countdown_text():
    assert countdown_text(120) == "2:00" and countdown_text(0.2) == "0:01" and countdown_text(0) == "0:00"


def test_screenshot_pictures_the_lit_flash(alarm_window, core, clock, tmp_path, fake_time):
    raise_sbp(core, clock)
    alarm_window.frame()
    fake_time.t += 1.0  # 0.6 Hz: 0.6 cycles in → the unlit half
    alarm_window.refresh(clock.now())
    assert alarm_window.tiles.nibp.alarm_colour is None
    alarm_window.save_screenshot(tmp_path / "shot.png")
    assert alarm_window.tiles.nibp.alarm_colour is None  # back to the real phase afterwards
    from PySide6.QtGui import QImage

    image = QImage(str(tmp_path / "shot.png"))
    tile = alarm_window.tiles.nibp
    corner = tile.mapTo(alarm_window, tile.rect().topLeft())
    pixel = image.pixelColor(corner.x() + 6, corner.y() + 6)  # inside the border, outside the text
    assert pixel.name() == theme.ALARM_MEDIUM
