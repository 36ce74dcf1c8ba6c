"""The review window's pleth row, summary panel, signing, exports and the browser's "not yet
reviewed" filter, on sessions recorded through the real pipeline / Recorder into a real database."""

from __future__ import annotations

import csv
import os
import shutil
import stat
import subprocess

import numpy as np
import pytest

from app.exports import DatabaseExports
from monitor.events import EventKind, SessionEvent
from monitor.observations import Observation, amendment, moaas
from monitor.ports import SessionFilter
from recordings import signoff
from recordings.database import open_database
from recordings.reader import RecordingReader
from recordings.recorder import Recorder
from recordings.signoff import DatabaseSignOff
from tests.gui.review_fixtures import record_session, record_synthetic
from ui.review_dialogs import SignDialog
from ui.review_window import ReviewWindow
from ui.session_browser import SessionBrowser

T_START = 1_800_000_000.0
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('panel') / 'sim.db'}"
    record_session(url, "SIM-PANEL")
    return url


@pytest.fixture
def synthetic(tmp_path):
    """A fresh database per test (the tests sign and amend it): session 1 = ``record_synthetic``."""
    url = f"sqlite:///{tmp_path / 'syn.db'}"
    record_synthetic(url, "SYN-9")
    with open_database(url) as db:
        signoff.add_signer(db, "dr.lee", "Dr Ada Lee", PASSWORD, iterations=1_000)
    return url


@pytest.fixture
def open_review(qtbot):
    """Open a review window (signing and exports enabled) on a database URL, summary computed;
    everything opened is closed when the test ends."""
    opened = []

    def open_(url, sid=1):
        db = open_database(url)
        opened.append(db)
        w = ReviewWindow(RecordingReader(db), sid, signoff=DatabaseSignOff(db), exports=DatabaseExports(db))
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        qtbot.waitExposed(w)
        qtbot.waitUntil(lambda: w.summary is not None or "could not" in w.summary_status.text(), timeout=10_000)
        return w, db

    yield open_
    for db in opened:
        db.close()


def test_pleth_envelope_over_the_session_and_every_sample_when_zoomed_in(open_review, simulated):
    w, db = open_review(simulated)
    blocks = RecordingReader(db).waveforms(1, ["pleth"])  # the chunk-by-chunk reader, independently
    # whole session: the lowest and highest sample of every chunk, alternately
    y = w.curves["pleth"].yData
    y = y[np.isfinite(y)]
    with np.errstate(all="ignore"):
        expected = np.array([[np.nanmin(b.samples), np.nanmax(b.samples)] for b in blocks if np.isfinite(b.samples).any()])
    assert np.array_equal(y, expected.ravel())
    assert w.curves["pleth"].isVisible() and not w.pleth_detail.isVisible()
    # zoomed in to one minute: every recorded sample of that minute, at its own time
    mid = blocks[len(blocks) // 2].t0
    w.set_x_range((mid - w.origin) / 60.0, (mid + 60 - w.origin) / 60.0)
    w.update_pleth_detail()
    assert w.pleth_detail.isVisible() and not w.curves["pleth"].isVisible()
    x, y = w.pleth_detail.xData, w.pleth_detail.yData
    t = w.origin + x * 60.0
    inside = [b for b in blocks if mid <= b.t0 and b.t0 + b.n / b.fs <= mid + 60]
    want = np.concatenate([b.samples for b in inside])
    got = y[(t >= inside[0].t0 - 1e-6) & (t < inside[-1].t0 + inside[-1].n / inside[-1].fs - 1e-6)]
    assert np.array_equal(got[np.isfinite(got)], want[np.isfinite(want)])
    # zoomed out again: the envelope
    w.show_whole()
    w.update_pleth_detail()
    assert w.curves["pleth"].isVisible() and not w.pleth_detail.isVisible()


def test_summary_panel_shows_the_known_figures(open_review, synthetic):
    # record_synthetic: t0 = start + 1 min; HR 70 and SpO2 97 at 1 Hz; cuff 150/95 at start + 2, 10, 18 min;
    # one HIGH alarm; MOAA/S 4 at start + 3 min
    w, _db = open_review(synthetic)
    lines = {k: v.text() for k, v in w.summary_labels.items()}
    assert lines["Baseline (pre-dose)"] == "HR 70 /min · SpO₂ 97 %"
    assert lines["Peak SBP"] == "150 mmHg at +1.0 min"
    assert lines["Peak HR"] == "70 /min at +0.0 min"
    assert lines["Lowest SpO₂"] == "97 % at +0.0 min"
    assert lines["SpO₂ below 93 %"] == "0.0 min"
    assert lines["Alarms"] == "1 high · 0 medium · 0 low"
    assert lines["Lowest MOAA/S"] == "4 at +2.0 min"
    assert lines["Peak CADSS"] == "not assessed"
    assert lines["Data gaps"].startswith("sim:mon: 60 invalid readings (60 s)")


def test_hypertensive_summary_peak_matches_the_cuff_readings(open_review, simulated):
    w, _db = open_review(simulated)
    t, v = w.series["nibp_sys"]
    post = (t >= w.info.t0) & np.isfinite(v)
    peak = float(v[post].max())
    minute = (float(t[post][np.argmax(v[post])]) - w.info.t0) / 60.0
    assert w.summary_labels["Peak SBP"].text().startswith(f"{peak:.0f} mmHg at {minute:+.1f} min")


def test_signing_in_the_window_then_an_amendment_outdates_it(qtbot, open_review, synthetic):
    w, db = open_review(synthetic)
    assert [lbl.text() for lbl in _signature_texts(w)] == ["Not yet reviewed."]
    dialog = SignDialog(w, signoff.MEANINGS, interrupted=False)
    qtbot.addWidget(dialog)
    dialog.login.setText("dr.lee")
    dialog.password.setText("wrong password")
    dialog.try_sign()
    assert "wrong password" in dialog.error.text() and dialog.result() == 0
    dialog.password.setText(PASSWORD)
    dialog.try_sign()
    assert dialog.result() == 1
    [sig] = w.signatures
    assert sig.valid and "Dr Ada Lee" in sig.text and "meaning: reviewed" in sig.text
    # an amendment after signing: the signature shows as outdated
    rec = Recorder(db)
    rec.start()
    try:
        rec.add_event(1, SessionEvent(EventKind.NOTE, T_START + 600, "user:Dr Test", {"text": "late note"}))
    finally:
        rec.stop()
    w.refresh_signatures()
    assert [s.valid for s in w.signatures] == [False]
    assert "OUTDATED" in _signature_texts(w)[0].text()


def _signature_texts(w):
    layout = w.signature_labels
    return [layout.itemAt(i).widget() for i in range(layout.count())]


def test_an_interrupted_session_needs_the_signer_to_confirm(qtbot, open_review, synthetic):
    from sqlalchemy import update

    from recordings.models import sessions_table

    with open_database(synthetic) as db:
        with db.writer_sessions.begin() as s:  # cut short by a crash: no end recorded
            s.execute(update(sessions_table).where(sessions_table.c.id == 1).values(ended_utc=None, end_reason=None))
    w, db = open_review(synthetic)
    dialog = SignDialog(w, signoff.MEANINGS, interrupted=True)
    qtbot.addWidget(dialog)
    assert not dialog.interrupted.isHidden()
    dialog.login.setText("dr.lee")
    dialog.password.setText(PASSWORD)
    dialog.try_sign()
    assert "has no end" in dialog.error.text() and w.signatures == []
    dialog.password.setText(PASSWORD)
    dialog.interrupted.setChecked(True)
    dialog.try_sign()
    assert [s.valid for s in w.signatures] == [True]


def test_exports_from_the_window(open_review, synthetic, tmp_path):
    w, _db = open_review(synthetic)
    assert set(w.export_buttons) == {"json", "csv", "fhir", "edf", "pdf"}
    out = w.export_to("csv", str(tmp_path / "s.csv"))
    assert out is not None and f"Wrote {out}" == w.action_status.text()
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sum(1 for r in rows if r["channel"] == "nibp_sys" and r["value"] == "150") == 3
    pdf = w.export_to("pdf", str(tmp_path / "s.pdf"))
    assert pdf is not None
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
        assert "SYN-9" in text and "Peak SBP" in text
    bad = tmp_path / "missing" / "s.json"
    assert w.export_to("json", str(bad)) is None
    assert w.action_status.text().startswith("Not exported: cannot write") and not bad.parent.exists()


def test_amended_observation_shows_its_current_value(open_review, synthetic):
    with open_database(synthetic) as db:
        rec = Recorder(db)
        rec.start()
        try:
            original = next(e for e in RecordingReader(db).events(1) if e.kind is EventKind.OBSERVATION)
            first = Observation.from_record(original.t, original.data)
            amended = amendment(first, moaas(first.t, "Dr Test", 2), "Dr Test", "scored in the wrong row")
            rec.add_event(1, SessionEvent(EventKind.AMENDMENT, amended.t, "user:Dr Test", amended.record()))
        finally:
            rec.stop()
    w, db = open_review(synthetic)
    assert [m.text for m in w.marks] == ["MOAA/S 2 (amended)"]
    assert w.summary_labels["Lowest MOAA/S"].text() == "2 at +2.0 min"


def test_not_yet_reviewed_filter(qtbot, synthetic):
    record_synthetic(synthetic, "SYN-10")  # session 2
    with open_database(synthetic) as db:
        signoff.sign_session(db, 1, "dr.lee", PASSWORD, "reviewed")
        reader = RecordingReader(db)
        assert [s.info.session_id for s in reader.find_sessions(SessionFilter(not_reviewed=True), 0, 10)] == [2]
        b = SessionBrowser(reader)
        qtbot.addWidget(b)
        assert [b.model.data(b.model.index(r, 7)) for r in range(2)] == ["", "yes"]  # newest first
        b.not_reviewed.setChecked(True)
        assert b.model.total == 1 and b.model.listing(0).info.session_id == 2
        # a note after the signature: session 1 needs review again
        rec = Recorder(db)
        rec.start()
        try:
            rec.add_event(1, SessionEvent(EventKind.NOTE, T_START + 700, "user:Dr Test", {"text": "late"}))
        finally:
            rec.stop()
        b.refresh()
        assert b.model.total == 2
        b.close()


def test_technical_alarms_are_drawn_apart_from_the_patients_alarms():
    from ui.review_window import alarm_intervals

    def alarm(t, key, transition, category):
        data = {"key": key, "priority": "MEDIUM", "category": category, "transition": transition, "message": key}
        return SessionEvent(EventKind.ALARM, t, "app", data)

    events = [
        alarm(0.0, "notice:alarm-audio", "raised", "technical"),  # lasts the whole session
        alarm(100.0, "sbp_high", "raised", "physiological"),
        alarm(160.0, "sbp_high", "cleared", "physiological"),
    ]
    tech, sbp = alarm_intervals(events, end_t=600.0)
    assert (tech.key, tech.technical, tech.end) == ("notice:alarm-audio", True, 600.0)
    assert (sbp.key, sbp.technical, sbp.start, sbp.end) == ("sbp_high", False, 100.0, 160.0)


@pytest.mark.posix
def test_window_export_replaces_an_existing_file_only_after_confirmation(open_review, synthetic, tmp_path, monkeypatch):
    """Issue 13, finding 9: the review window asks before replacing a file, and refuses a FIFO."""
    from PySide6.QtWidgets import QMessageBox

    w, _db = open_review(synthetic)
    out = tmp_path / "s.json"
    out.write_text("kept")
    asked: list[str] = []

    def answer(button):
        def question(_parent, _title, text, *_args):
            asked.append(text)
            return button

        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    assert w.export_chosen("json", str(out)) is None
    assert out.read_text() == "kept" and len(asked) == 1 and str(out) in asked[0]
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    assert w.export_chosen("json", str(out)) == str(out)
    assert "SYN-9" in out.read_text() and stat.S_IMODE(out.stat().st_mode) == 0o600
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert w.export_chosen("json", str(fifo)) is None
    assert "FIFO" in w.action_status.text() and stat.S_ISFIFO(fifo.lstat().st_mode)
    new = tmp_path / "new.json"
    asked.clear()
    assert w.export_chosen("json", str(new)) == str(new) and asked == []  # a new path is not asked about
