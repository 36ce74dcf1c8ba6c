"""The treatment-course window, its browser button and the review command's --course, on a real
SQLite database (tests/unit/monitor/test_course.py: patient P1 with ΔSBP 40/30/20, one session
without a dose, one interrupted; patient P10)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.review_cmd import build_review
from monitor.course import NO_DOSE
from recordings.database import open_database
from recordings.reader import RecordingReader
from tests.unit.monitor.test_course import T, write_course
from ui.course_view import HEADERS, MISSING, CourseWindow
from ui.review_window import ReviewWindow
from ui.session_browser import SessionBrowser

DAY = 86_400.0


@pytest.fixture(scope="module")
def course_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('course_view') / 'course.db'}"
    return url, write_course(url)


@pytest.fixture
def reader(course_db):
    db = open_database(course_db[0])
    yield RecordingReader(db)
    db.close()


@pytest.fixture
def window(qtbot, reader):
    w = CourseWindow(reader, "P1")
    qtbot.addWidget(w)
    w.resize(1400, 950)
    w.show()
    qtbot.waitExposed(w)
    return w


def cell(w: CourseWindow, row: int, header: str) -> str:
    return w.table.item(row, HEADERS.index(header)).text()


def date(t: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(t))


def test_table_lists_every_session_with_its_figures(window, course_db):
    ids = course_db[1]
    w = window
    assert w.table.rowCount() == 5
    assert [cell(w, r, "Session") for r in range(5)] == [str(ids[k]) for k in ("S1", "S2", "S3", "S4", "S5")]
    assert [cell(w, r, "#") for r in range(5)] == ["1", "2", "3", "4", "5"]
    assert [cell(w, r, "Date") for r in range(5)] == [date(T + d * DAY) for d in (0, 7, 14, 21, 28)]
    assert [cell(w, r, "Peak ΔSBP") for r in range(5)] == ["+40", "+30", "+20", MISSING, "+20"]
    assert [cell(w, r, "Baseline SBP") for r in range(5)] == ["120", "125", "130", MISSING, "118"]
    assert cell(w, 0, "Peak SBP (min)") == "160 (+20 min)" and cell(w, 2, "Peak SBP (min)") == "150 (+25 min)"
    assert cell(w, 3, "Peak SBP (min)") == f"170 ({MISSING})"  # no dose: whole record, no minute
    assert [cell(w, r, "Peak CADSS") for r in range(5)] == ["30", "20", "10", MISSING, MISSING]
    assert [cell(w, r, "Lowest MOAA/S") for r in range(5)] == ["3", "4", MISSING, MISSING, MISSING]
    assert [cell(w, r, "Alarms H/M/L") for r in range(5)] == ["1/1/0", "0/0/0", "0/0/1", "0/0/0", "0/0/0"]
    assert cell(w, 1, "Protocol") == "Ketamine IV infusion"
    assert cell(w, 3, "Note") == NO_DOSE and cell(w, 0, "Note") == ""
    assert "interrupted" in cell(w, 4, "End") and all("ended" in cell(w, r, "End") for r in range(4))
    assert "not aligned" in w.header.text()


def test_chart_overlays_one_curve_per_aligned_session(window):
    w = window
    assert sorted(w.curves) == [1, 2, 3, 5]  # session 4 had no dose
    x, y = w.curves[1].getData()
    assert list(x) == pytest.approx([-4, -1, 5, 20, 40]) and list(y) == pytest.approx([15, 0, 10, 40, 5])
    assert max(w.curves[2].getData()[1]) == pytest.approx(30)
    names = [label.text for _, label in w.overlay.legend.items]
    assert names == [f"#{n} {date(T + d * DAY)}" for n, d in ((1, 0), (2, 7), (3, 14), (5, 28))]
    lo, hi = w.overlay.viewRange()[1]
    assert lo <= 0 and hi >= 40  # every curve in view


def test_per_session_figures_show_the_attenuation(window):
    w = window
    x, y = w.figure_items["delta_sbp"].getData()
    assert list(x) == [1, 2, 3, 5] and list(y) == pytest.approx([40, 30, 20, 20])
    x, y = w.figure_items["cadss"].getData()
    assert list(x) == [1, 2, 3] and list(y) == pytest.approx([30, 20, 10])
    x, y = w.figure_items["moaas"].getData()
    assert list(x) == [1, 2] and list(y) == [3, 4]
    assert list(w.figure_items["alarms_high"].opts["height"]) == [1, 0, 0, 0, 0]
    assert list(w.figure_items["alarms_low"].opts["height"]) == [0, 0, 1, 0, 0]


def test_double_click_on_a_row_opens_that_session(qtbot, window, course_db):
    w = window
    rect = w.table.visualItemRect(w.table.item(2, 0))
    assert w.table.viewport().rect().contains(rect.center())
    with qtbot.waitSignal(w.open_session) as sig:
        # a real double-click is press, release, then double-click: an item view ignores a lone one
        qtbot.mouseClick(w.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(w.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == [course_db[1]["S3"]]


def test_a_patient_without_sessions_gets_an_empty_course(qtbot, reader):
    w = CourseWindow(reader, "NOBODY")
    qtbot.addWidget(w)
    assert w.table.rowCount() == 0 and w.curves == {} and "no sessions" in w.header.text()


def test_browser_button_opens_the_selected_patients_course(qtbot, reader, course_db):
    b = SessionBrowser(reader)
    qtbot.addWidget(b)
    b.show()
    with qtbot.assertNotEmitted(b.open_course):
        b.course_button.click()  # nothing selected: says so
    assert b.error_label.isVisibleTo(b) and "Select a session" in b.error_label.text()
    row = next(r for r in range(b.model.rowCount()) if b.model.listing(r).info.session_id == course_db[1]["P10"])
    b.table.selectRow(row)
    with qtbot.waitSignal(b.open_course) as sig:
        qtbot.mouseClick(b.course_button, Qt.MouseButton.LeftButton)
    assert sig.args == ["P10"]


def test_review_command_opens_the_course_from_the_browser_and_directly(qtbot, reader, course_db):
    first, opened = build_review(reader, None)
    qtbot.addWidget(first)
    first.open_course.emit("P1")
    for w in opened:
        qtbot.addWidget(w)
    assert len(opened) == 1 and isinstance(opened[0], CourseWindow) and opened[0].patient_id == "P1"
    opened[0].open_session.emit(course_db[1]["S2"])
    for w in opened[1:]:
        qtbot.addWidget(w)
    assert isinstance(opened[1], ReviewWindow) and opened[1].info.session_id == course_db[1]["S2"]
    direct, _ = build_review(reader, None, "P10")
    qtbot.addWidget(direct)
    assert isinstance(direct, CourseWindow) and [e.session_id for e in direct.entries] == [course_db[1]["P10"]]


def test_review_command_refuses_an_unknown_or_prefix_patient(course_db, capsys):
    from app.cli import main

    assert main(["review", "--db", course_db[0], "--course", "P2"]) == 1
    assert "no sessions recorded for patient P2" in capsys.readouterr().err
    assert main(["review", "--db", course_db[0], "--course", "P1*"]) == 1
    assert "exact patient ID" in capsys.readouterr().err
