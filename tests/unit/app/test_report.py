"""The session report: data filled from a recording with known answers, and the PDF read back by an
independent extractor (poppler's ``pdftotext``)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import pytest

from app.cli import main
from monitor import observations as obs
from monitor.events import EventKind, SessionEvent
from monitor.ports import DeviceInfo
from monitor.readings import Reading
from monitor.session import DosingProtocol, SessionInfo
from recordings import signoff
from recordings.database import open_database
from recordings.recorder import Recorder
from recordings.report import report_data

T_START = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
T0 = T_START + 600  # first dose at 08:10
PASSWORD = "correct horse battery"


def _observe(rec: Recorder, sid: int, o: obs.Observation) -> None:
    rec.add_event(sid, SessionEvent(EventKind.OBSERVATION, o.t, f"user:{o.author}", o.record()))


def _bp(rec: Recorder, sid: int, minute: float, sys_: float, dia: float) -> None:
    t = T0 + minute * 60
    rec.submit_readings(sid, [Reading("sim:cuff", "nibp_sys", t, sys_), Reading("sim:cuff", "nibp_dia", t, dia)])


@pytest.fixture
def recorded(db_url) -> int:
    """A Spravato session: 56 mg (two devices, lot AB123), BP before, at 40 min (peak 172/104) and before
    completion, MOAA/S 3 at 30 min, one alarm, discharge at 125 min (ready at 95), signed as reviewed."""
    with open_database(db_url) as db:
        rec = Recorder(db, commit_interval_s=0.05, app_version="test")
        rec.start()
        try:
            info = SessionInfo("P-0042", DosingProtocol.SPRAVATO, "Nurse Kim", T_START)
            sid = rec.begin_session(info)
            rec.register_device(sid, DeviceInfo("sim:cuff", "Cuff", "nibp", 900.0))
            rec.register_device(sid, DeviceInfo("sim:ox", "Oximeter", "oximeter", 5.0))
            _bp(rec, sid, -5, 128, 82)
            rec.update_session(dataclasses.replace(info, t0=T0, session_id=sid))
            for device, minute in ((1, 0.0), (2, 5.0)):
                dose = obs.dose(
                    T0 + minute * 60, "Nurse Kim", drug="esketamine", route="intranasal", dose_mg=28, lot="AB123", device=device
                )
                _observe(rec, sid, dose)
            rec.submit_readings(sid, [Reading("sim:ox", "spo2", T0 + i * 60, 97.0) for i in range(0, 126, 5)])
            rec.submit_readings(sid, [Reading("sim:ox", "pr", T0 + i * 60, 78.0) for i in range(0, 126, 5)])
            _bp(rec, sid, 20, 150, 95)
            _bp(rec, sid, 39, 172, 104)
            _bp(rec, sid, 118, 131, 84)
            _observe(rec, sid, obs.moaas(T0 + 30 * 60, "Nurse Kim", 3))
            alarm = {"transition": "raised", "key": "nibp_sys_high", "priority": "MEDIUM", "message": "SBP 172 ≥ 165"}
            rec.add_event(sid, SessionEvent(EventKind.ALARM, T0 + 39 * 60, "app", alarm))
            checklist = dict.fromkeys(obs.DISCHARGE_ITEMS, True)
            _observe(rec, sid, obs.discharge(T0 + 125 * 60, "Nurse Kim", checklist, ready_min=95))
            rec.update_session(dataclasses.replace(info, t0=T0, ended=T0 + 126 * 60, end_reason="discharged", session_id=sid))
        finally:
            rec.stop()
        signoff.add_signer(db, "dr.lee", "Dr Ada Lee", PASSWORD, iterations=1_000)
        signoff.sign_session(db, sid, "dr.lee", PASSWORD, "reviewed")
    return sid


def test_report_data_has_the_known_answers(db_url, recorded):
    with open_database(db_url) as db:
        d = report_data(db, recorded)
    assert (d.patient_id, d.clinician, d.lots) == ("P-0042", "Nurse Kim", ("AB123",))
    assert d.t0 == "2027-01-15 08:10:00 UTC" and d.ended == "2027-01-15 10:16:00 UTC"
    assert d.discharge == "2027-01-15 10:15:00 UTC (+125.0 min)"
    assert (d.total_minutes, d.ready_to_leave_minute) == ("125", "95")
    assert d.peak_bp == "172/104 mmHg at +39.0 min"
    assert [s.label for s in d.series] == ["SBP", "DBP", "HR (pulse)", "SpO2"]
    assert len(d.doses) == 2 and "28 mg intranasal device 2" in d.doses[1]
    assert [r.text for r in d.alarms] == ["MEDIUM raised — SBP 172 ≥ 165"]
    assert [s.valid for s in d.signatures] == [True] and "Dr Ada Lee" in d.signatures[0].text
    f = d.monitoring_form
    assert f is not None
    assert (f.treatment_date, f.due_by, f.dose, f.lot) == ("2027-01-15", "2027-01-22", "56 mg (2 devices)", "AB123")
    assert f.bp_prior == "128/82 mmHg at -5.0 min"
    assert f.bp_40_min == "172/104 mmHg at +39.0 min"
    assert f.bp_before_completion == "131/84 mmHg at +118.0 min"
    assert (f.total_minutes, f.ready_to_leave_minutes, f.sedation, f.dissociation) == ("125", "95", "Yes", "not assessed")
    lines = dict(d.summary)  # the prescriber's summary: 172 at +39 min over the -5 min baseline of 128/82
    assert lines["Baseline (pre-dose)"].startswith("BP 128/82 mmHg")
    assert lines["Peak SBP"] == "172 mmHg at +39.0 min (+44 over baseline)"
    assert lines["Peak DBP"] == "104 mmHg at +39.0 min (+22 over baseline)"
    assert lines["Lowest MOAA/S"] == "3 at +30.0 min" and lines["Peak CADSS"] == "not assessed"
    assert lines["Alarms"] == "0 high · 1 medium · 0 low"
    assert lines["Ready to leave"] == "+95 min (nurse's assessment)"


def test_report_pdf_read_back_by_pdftotext(db_url, recorded, tmp_path, qapp):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed: scripts/install-system-deps.sh installs it")
    out = tmp_path / "report.pdf"
    assert main(["report", "--db", db_url, "--session", str(recorded), "--output", str(out)]) == 0
    assert not out.with_name("report.pdf.part").exists()
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    for expected in (
        f"Session report — session {recorded}",
        "P-0042",
        "Spravato (esketamine) intranasal",
        "AB123",
        "2027-01-15 08:10:00 UTC",  # t0
        "172/104 mmHg at +39.0 min",  # peak BP
        "Signed by Dr Ada Lee (dr.lee)",
        "meaning: reviewed — valid",
        "MEDIUM raised — SBP 172 ≥ 165",
        "MOAA/S 3",
        "REMS Patient Monitoring Form",
        "+44 over baseline",  # the summary section
        "128/82 mmHg",
        "2027-01-22",
    ):
        assert expected in text, expected


def test_export_format_pdf_writes_the_same_report(db_url, recorded, tmp_path, qapp):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed: scripts/install-system-deps.sh installs it")
    out = tmp_path / "export.pdf"
    assert main(["export", "--db", db_url, "--session", str(recorded), "--format", "pdf", "--output", str(out)]) == 0
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert f"Session report — session {recorded}" in text and "+44 over baseline" in text
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # no temporary file left


def test_pdf_export_needs_an_output_file(db_url, recorded, capsys):
    assert main(["export", "--db", db_url, "--format", "pdf"]) == 2
    assert "--output" in capsys.readouterr().err


def test_unwritable_output_leaves_nothing_and_says_so(db_url, recorded, tmp_path, qapp, capsys):
    out = tmp_path / "missing-folder" / "report.pdf"
    assert main(["report", "--db", db_url, "--session", str(recorded), "--output", str(out)]) == 1
    assert "cannot write" in capsys.readouterr().err and not out.parent.exists()


def test_outdated_signature_is_shown_in_the_report(db_url, recorded):
    with open_database(db_url) as db:
        rec = Recorder(db, commit_interval_s=0.05)
        rec.start()
        try:
            rec.add_event(recorded, SessionEvent(EventKind.NOTE, T0 + 7000, "user:Nurse Kim", {"text": "late note"}))
        finally:
            rec.stop()
        d = report_data(db, recorded)
    assert [s.valid for s in d.signatures] == [False] and "OUTDATED" in d.signatures[0].text


def test_interrupted_ketamine_session_without_dose_still_reports(db_url, tmp_path, qapp):
    with open_database(db_url) as db:
        rec = Recorder(db, commit_interval_s=0.05)
        rec.start()
        try:
            sid = rec.begin_session(SessionInfo("P-0007", DosingProtocol.KETAMINE_IV, "Nurse Kim", T_START))
        finally:
            rec.stop()
        d = report_data(db, "latest")
    assert d.session_id == sid and d.monitoring_form is None and d.series == ()
    assert (d.t0, d.ended, d.total_minutes, d.signatures) == ("no dose recorded", "interrupted (no end recorded)", "—", ())
    out = tmp_path / "r.pdf"
    assert main(["report", "--db", db_url, "--session", "latest", "--output", str(out)]) == 0
    assert out.stat().st_size > 1000
