"""Every export of a recorded session behind one call, so ``session-monitor export``, ``session-monitor
report`` and the review window's Export button write the same files the same way: built whole first,
then written to a temporary file and renamed into place (complete or absent, never half-written)."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from monitor.ports import ExportFormat
from recordings.atomic import ExportWriteError, write_atomically
from recordings.database import Database
from recordings.reader import RecordingReader


def _json_doc(db: Database, ref: int | str) -> dict[str, Any]:
    from recordings.export import export_session

    return export_session(db, ref)


def _fhir_doc(db: Database, ref: int | str) -> dict[str, Any]:
    from recordings.fhir_export import fhir_bundle

    return fhir_bundle(db, ref)


def _as_json(build: Callable[[Database, int | str], dict[str, Any]]) -> Callable[[Database, int | str], str]:
    def text(db: Database, ref: int | str) -> str:
        return json.dumps(build(db, ref), ensure_ascii=False, indent=1, allow_nan=False) + "\n"

    return text


def _csv_text(db: Database, ref: int | str) -> str:
    from recordings.csv_export import write_csv

    buf = io.StringIO()
    write_csv(db, ref, buf)
    return buf.getvalue()


def _write_edf(db: Database, ref: int | str, out: Path) -> None:
    from recordings.edf_export import export_edf

    export_edf(db, ref, out)


@dataclass(frozen=True, slots=True)
class Exporter:
    """An export format and how to write it: ``text`` for a text format (stdout or a file),
    ``write`` for a binary one (a file only, written atomically by the writer itself)."""

    format: ExportFormat
    text: Callable[[Database, int | str], str] | None = None
    write: Callable[[Database, int | str, Path], None] | None = None


def _exporter(key: str, label: str, description: str, suffix: str, *, text: Any = None, write: Any = None) -> Exporter:
    return Exporter(ExportFormat(key, label, description, suffix, binary=text is None), text, write)


#: Every export format, in the order the CLI lists them and the review window shows their buttons.
#: A new format is one line here (plus its writer).
EXPORTERS: Final[dict[str, Exporter]] = {
    e.format.key: e
    for e in (
        _exporter("json", "JSON", "Whole record (session-monitor JSON)", ".json", text=_as_json(_json_doc)),
        _exporter("csv", "CSV", "Numbers as a tidy CSV table", ".csv", text=_csv_text),
        _exporter("fhir", "FHIR", "FHIR R4 Bundle of vital-signs Observations", ".json", text=_as_json(_fhir_doc)),
        _exporter("edf", "EDF+", "EDF+ with waveforms and events as annotations", ".edf", write=_write_edf),
        _exporter("pdf", "PDF report", "PDF session report", ".pdf", write=lambda db, ref, out: _write_pdf(db, ref, out)),
    )
}


def export_text(db: Database, ref: int | str, fmt: str) -> str:
    """The json / csv / fhir export as text (``StorageError`` if there is no such session)."""
    exporter = EXPORTERS.get(fmt)
    if exporter is None or exporter.text is None:
        raise ValueError(f"{fmt} is not a text format")
    return exporter.text(db, ref)


def _not_regular(mode: int) -> str | None:
    for test, what in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file"


def export_target(path: str | os.PathLike[str], *, replace: bool = False) -> Path:
    """The file an export may write: a new path, or (with ``replace``) an existing regular file —
    never a device, FIFO, socket or folder, nor a symlink onto one (issue 13, finding 9: run as root,
    an export replaced the null device). A symlink onto a regular file writes that file."""
    out = Path(path).expanduser().absolute()
    try:
        link = out.lstat()
    except FileNotFoundError:
        link = None
    except OSError as exc:
        raise ExportWriteError(f"cannot write {out}: {exc.strerror or exc}; choose another --output") from None
    if link is not None and stat.S_ISLNK(link.st_mode):
        try:
            target = out.resolve(strict=True)
        except (OSError, RuntimeError):
            raise ExportWriteError(
                f"cannot write {out}: it is a symlink to nothing that exists; choose another --output"
            ) from None
        what = _not_regular(target.stat().st_mode)
        if what is not None:
            raise ExportWriteError(f"cannot write {out}: it is a symlink to {target}, which is {what}; choose a file name")
        out, link = target, target.lstat()
    if link is not None:
        what = _not_regular(link.st_mode)
        if what is not None:
            raise ExportWriteError(f"cannot write {out}: it is {what}, not a file; choose a file name with --output")
        if not replace:
            raise ExportWriteError(f"{out} already exists: add --force to replace it, or choose another --output")
    if not out.parent.is_dir():
        raise ExportWriteError(f"cannot write {out}: folder {out.parent} does not exist; choose another --output")
    return out


def export_file(db: Database, ref: int | str, fmt: str, path: str | os.PathLike[str], *, replace: bool = False) -> Path:
    """Write session ``ref`` as ``fmt`` to ``path`` (an existing file only with ``replace``);
    ``StorageError`` for a missing session, ``ExportWriteError`` when the file cannot or may not be
    written (nothing is left behind)."""
    exporter = EXPORTERS.get(fmt)
    if exporter is None:
        raise ExportWriteError(f"unknown export format {fmt!r}; known: {', '.join(EXPORTERS)}")
    out = export_target(path, replace=replace)
    if exporter.write is not None:
        exporter.write(db, ref, out)
    else:
        assert exporter.text is not None
        text = exporter.text(db, ref)
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

    def formats(self) -> dict[str, ExportFormat]:
        return {key: e.format for key, e in EXPORTERS.items()}

    def export(self, session_id: int, fmt: str, path: str, replace: bool = False) -> str:
        RecordingReader(self._db).session(session_id)  # a clear StorageError before anything is written
        return str(export_file(self._db, session_id, fmt, path, replace=replace))
