"""The emergency journal: where readings go when the database cannot take them.

When the database file vanishes (folder deleted, file replaced or truncated) or stays unwritable (disk
full, I/O error), the recorder appends what it holds to a journal file in a second folder (the user's
state folder, else the temp folder), so a lost database loses nothing that fits anywhere. The format
is JSON lines, append-only and self-describing: a header naming the database and the format, then one
line per session row, readings batch, waveform chunk or event; each append is fsync'd. ``recover``
imports a journal back into a database; it is idempotent (rows already there are not added twice),
so recovering twice, or a journal whose first part did reach the database, duplicates nothing.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import platformdirs
from sqlalchemy import insert, select, update

from recordings.database import Database
from recordings.models import devices_table, events_table, readings_table, sessions_table, waveform_chunks_table
from recordings.rows import device_row, insert_one, unregistered_device

log = logging.getLogger(__name__)

FORMAT: Final = "session-monitor-journal"
VERSION: Final = 1
SUFFIX: Final = ".journal.jsonl"
RECOVERED_SUFFIX: Final = ".recovered"
#: Environment variable that names the journal folder (tests; a site that wants it elsewhere).
FOLDER_ENV: Final = "SESSION_MONITOR_JOURNAL_DIR"


def journal_folders() -> list[Path]:
    """Where a journal may go, in order: the user's state folder, then the temp folder (or only $SESSION_MONITOR_JOURNAL_DIR)."""
    env = os.environ.get(FOLDER_ENV)
    if env:  # chosen explicitly: only there (tests never touch the user's folders)
        return [Path(env)]
    folders: list[Path] = []
    folders.append(Path(platformdirs.user_state_dir("session-monitor")) / "journal")
    folders.append(Path(tempfile.gettempdir()) / "session-monitor-journal")
    return folders


class JournalError(OSError):
    """No folder could take the journal."""


class Journal:
    """An append-only JSON-lines file, opened at the first append in the first folder that works."""

    def __init__(self, db_name: str, folders: list[Path] | None = None) -> None:
        self._db_name = db_name
        self._folders = folders if folders is not None else journal_folders()
        self._file: Any = None
        self.path: Path | None = None
        self.readings = 0
        self.samples = 0
        self.events = 0

    @property
    def planned_path(self) -> str:
        """The path messages name before the file exists."""
        if self.path is not None:
            return str(self.path)
        return str(self._folders[0] / f"<session>{SUFFIX}")

    def _open(self) -> None:
        errors: list[str] = []
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        for folder in self._folders:
            path = folder / f"{stamp}-{os.getpid()}{SUFFIX}"
            try:
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                f = os.fdopen(fd, "a", encoding="utf-8")
                header = {"type": "header", "format": FORMAT, "version": VERSION, "db": self._db_name, "created_utc": time.time()}
                f.write(json.dumps(header) + "\n")
                f.flush()
                os.fsync(f.fileno())
            except OSError as exc:
                errors.append(f"{folder}: {exc.strerror or exc}")
                continue
            self._file, self.path = f, path
            log.warning("emergency journal opened: %s", path)
            return
        raise JournalError(f"no folder can take the emergency journal ({'; '.join(errors)})")

    def append(self, lines: list[dict[str, Any]]) -> None:
        """Write ``lines`` and fsync; raises OSError (nothing counted) if no folder can take them."""
        if not lines:
            return
        if self._file is None:
            self._open()
        text = "".join(json.dumps(line, allow_nan=False, separators=(",", ":")) + "\n" for line in lines)
        try:
            self._file.write(text)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            # a partly written last line is skipped by ``recover``; try a fresh file next time
            self._close_quietly()
            raise
        for line in lines:
            kind = line["type"]
            if kind == "readings":
                self.readings += len(line["rows"])
            elif kind == "chunk":
                self.samples += int(line["n"])
            elif kind == "event":
                self.events += 1

    def _close_quietly(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def close(self) -> None:
        self._close_quietly()


# ---- lines --------------------------------------------------------------------------------------


def session_line(session_id: int, row: dict[str, Any]) -> dict[str, Any]:
    return {"type": "session", "sid": session_id, "row": row}


def readings_line(session_id: int, rows: list[list[Any]]) -> dict[str, Any]:
    """``rows``: [source, channel, t_utc, value (None for NaN), quality, flags, device_t]."""
    return {"type": "readings", "sid": session_id, "rows": rows}


def chunk_line(
    session_id: int, source: str, channel: str, t0: float, fs: float, n: int, dtype: str, data: bytes
) -> dict[str, Any]:
    return {
        "type": "chunk",
        "sid": session_id,
        "source": source,
        "channel": channel,
        "t0": t0,
        "fs": fs,
        "n": n,
        "dtype": dtype,
        "data": base64.b64encode(data).decode("ascii"),
    }


def event_line(row: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "row": row}


# ---- recovery -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecoverCounts:
    readings: int
    samples: int
    events: int
    skipped_duplicates: int
    sessions_created: int
    bad_lines: int


def recover(db: Database, path: Path) -> RecoverCounts:
    """Import ``path`` into ``db`` in one transaction; rows already there are skipped."""
    lines, bad = _read(path)
    sessions: dict[int, int] = {}  # journal session id -> database session id
    created = added_r = added_s = added_e = dup = 0
    with db.writer_sessions.begin() as s:
        devices: dict[tuple[int, str], int] = {}

        def device(sid: int, source: str) -> int:
            key = (sid, source)
            if key not in devices:
                devices[key] = device_row(s, sid, unregistered_device(source), refresh=False)
            return devices[key]

        def session(journal_sid: int) -> int:
            if journal_sid not in sessions:
                raise ValueError(f"{path}: data for session {journal_sid} before its session line")
            return sessions[journal_sid]

        seen_r: dict[int, set[tuple[Any, ...]]] = {}
        for line in lines:
            kind = line.get("type")
            if kind == "session":
                row = dict(line["row"])
                c = sessions_table.c
                found = s.execute(
                    select(c.id).where(c.patient_id == row["patient_id"], c.started_utc == row["started_utc"])
                ).scalar()
                if found is None:
                    row.pop("id", None)
                    found = insert_one(s, insert(sessions_table).values(**row))
                    created += 1
                else:  # a later session line carries the session's end: keep the latest known
                    ends = {k: row[k] for k in ("t0_utc", "ended_utc", "end_reason") if row.get(k) is not None}
                    if ends:
                        s.execute(update(sessions_table).where(c.id == found).values(**ends))
                sessions[int(line["sid"])] = int(found)
            elif kind == "readings":
                sid = session(int(line["sid"]))
                if sid not in seen_r:
                    r, d = readings_table.c, devices_table.c
                    q = select(d.source, r.channel, r.t_utc).join(devices_table, d.id == r.device_id).where(r.session_id == sid)
                    seen_r[sid] = {tuple(x) for x in s.execute(q)}
                new = []
                for source, channel, t, value, quality, flags, device_t in line["rows"]:
                    key = (source, channel, t)
                    if key in seen_r[sid]:
                        dup += 1
                        continue
                    seen_r[sid].add(key)
                    new.append(
                        {
                            "session_id": sid,
                            "device_id": device(sid, source),
                            "channel": channel,
                            "t_utc": t,
                            "value": value,
                            "quality": quality,
                            "flags": flags,
                            "device_t": device_t,
                        }
                    )
                if new:
                    s.execute(insert(readings_table), new)
                    added_r += len(new)
            elif kind == "chunk":
                sid = session(int(line["sid"]))
                dev = device(sid, line["source"])
                w = waveform_chunks_table.c
                exists = s.execute(
                    select(w.id).where(
                        w.session_id == sid, w.device_id == dev, w.channel == line["channel"], w.t0_utc == line["t0"]
                    )
                ).first()
                if exists is not None:
                    dup += 1
                    continue
                s.execute(
                    insert(waveform_chunks_table).values(
                        session_id=sid,
                        device_id=dev,
                        channel=line["channel"],
                        t0_utc=line["t0"],
                        fs=line["fs"],
                        n=line["n"],
                        dtype=line["dtype"],
                        data=base64.b64decode(line["data"]),
                    )
                )
                added_s += int(line["n"])
            elif kind == "event":
                row = dict(line["row"])
                row["session_id"] = session(int(row["session_id"]))
                e = events_table.c
                exists = s.execute(
                    select(e.id).where(
                        e.session_id == row["session_id"],
                        e.t_utc == row["t_utc"],
                        e.kind == row["kind"],
                        e.source == row["source"],
                        e.data == row["data"],
                    )
                ).first()
                if exists is not None:
                    dup += 1
                    continue
                s.execute(insert(events_table).values(**row))
                added_e += 1
    return RecoverCounts(added_r, added_s, added_e, dup, created, bad)


def _read(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The journal's lines after a valid header; a line cut short (power loss mid-write) is counted, not fatal."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from exc
    lines: list[dict[str, Any]] = []
    bad = 0
    for i, raw in enumerate(text.splitlines()):
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            bad += 1
            continue
        if i == 0 and not (isinstance(line, dict) and line.get("format") == FORMAT):
            raise JournalError(f"{path} is not a Session Monitor journal (no '{FORMAT}' header)")
        if isinstance(line, dict) and line.get("type") != "header":
            lines.append(line)
    if not text:
        raise JournalError(f"{path} is empty: not a Session Monitor journal")
    return lines, bad


def journal_db(path: Path) -> str | None:
    """The database a journal was written for (from its header)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            header = json.loads(f.readline())
    except (OSError, json.JSONDecodeError):
        return None
    return header.get("db") if isinstance(header, dict) and header.get("format") == FORMAT else None


def recover_pending(db: Database) -> list[tuple[Path, RecoverCounts]]:
    """At start-up: import every journal written for this database, then rename it ``*.recovered``."""
    done: list[tuple[Path, RecoverCounts]] = []
    for folder in journal_folders():
        for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
            if journal_db(path) != db.name:
                continue
            counts = recover(db, path)
            path.rename(path.with_name(path.name + RECOVERED_SUFFIX))
            log.warning("recovered journal %s into %s: %s", path, db.name, counts)
            done.append((path, counts))
    return done
