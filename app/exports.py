"""Every export of a recorded session behind one call, so ``session-monitor export``, ``session-monitor
report`` and the review window's Export button write the same files the same way: built whole first,
then written to a temporary file and renamed into place (complete or absent, never half-written)."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Final

from recordings.atomic import ExportWriteError, write_atomically
from recordings.database import Database
from recordings.reader import RecordingReader

#: Format code -> (what it is, file suffix).
FORMATS: Final = {
    "json": ("Whole record (session-monitor JSON)", ".json"),
    "csv": ("Numbers as a tidy CSV table", ".csv"),
    "fhir": ("FHIR R4 Bundle of vital-signs Observations", ".json"),
    "edf": ("EDF+ with waveforms and events as annotations", ".edf"),
    "pdf": ("PDF session report", ".pdf"),
}
TEXT_FORMATS: Final = ("json", "csv", "fhir")


def export_text(db: Database, ref: int | str, fmt: str) -> str:
    """The json / csv / fhir export as text (``StorageError`` if there is no such session)."""
    if fmt == "csv":
        from recordings.csv_export import write_csv

        buf = io.StringIO()
        write_csv(db, ref, buf)
        return buf.getvalue()
    if fmt == "fhir":
        from recordings.fhir_export import fhir_bundle

        doc = fhir_bundle(db, ref)
    elif fmt == "json":
        from recordings.export import export_session

        doc = export_session(db, ref)
    else:
        raise ValueError(f"{fmt} is not a text format")
    return json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def export_file(db: Database, ref: int | str, fmt: str, path: str | os.PathLike[str]) -> Path:
    """Write session ``ref`` as ``fmt`` to ``path``; ``StorageError`` for a missing session,
    ``ExportWriteError`` when the file cannot be written (nothing is left behind)."""
    out = Path(path).expanduser().absolute()
    if fmt not in FORMATS:
        raise ExportWriteError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    if not out.parent.is_dir():
        raise ExportWriteError(f"cannot write {out}: folder {out.parent} does not exist; choose another --output")
    if fmt == "edf":
        from recordings.edf_export import export_edf

        export_edf(db, ref, out)
    elif fmt == "pdf":
        _write_pdf(db, ref, out)
    else:
        text = export_text(db, ref, fmt)
        write_atomically(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return out


def _write_pdf(db: Database, ref: int | str, out: Path) -> None:
    from recordings.report import report_data

    data = report_data(db, ref)
    _gui_app()
    from ui.report import ReportError, render_report

    def render(tmp: Path) -> None:
        try:
            render_report(data, tmp)
        except ReportError as exc:
            raise OSError(str(exc)) from exc
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise OSError(f"nothing was written to {tmp}")

    write_atomically(out, render)


def _gui_app() -> object:
    """The running QGuiApplication, or a new one (offscreen when there is no display): the PDF is
    painted by Qt, which needs one, also from the command line on a server."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QGuiApplication(["session-monitor"])
    return app


class DatabaseExports:
    """``monitor.ports.SessionExports`` over one database, for the review window."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def formats(self) -> dict[str, tuple[str, str]]:
        return dict(FORMATS)

    def export(self, session_id: int, fmt: str, path: str) -> str:
        RecordingReader(self._db).session(session_id)  # a clear StorageError before anything is written
        return str(export_file(self._db, session_id, fmt, path))
