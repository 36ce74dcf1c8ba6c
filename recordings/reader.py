"""Reading recordings back: sessions, devices, readings, waveforms and events as frozen dataclasses.

ORM rows never leave ``recordings/``: every query selects plain columns and converts them to the
value types of ``monitor`` (``Reading``, ``WaveformBlock``, ``SessionEvent``) or to the records below.
Each call is one short read transaction, so a reader never holds up the recorder.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from sqlalchemy import ColumnElement, CursorResult, Executable, Row, Select, and_, case, exists, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from monitor.errors import StorageError
from monitor.events import EventKind, SessionEvent
from monitor.ports import DeviceInfo, SessionFilter, SessionListing
from monitor.readings import Flag, Quality, Reading, WaveformBlock
from monitor.session import DosingProtocol, SessionInfo
from recordings.database import Database, failure_reason
from recordings.models import devices_table, events_table, readings_table, sessions_table, signatures_table, waveform_chunks_table

LATEST = "latest"


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A recorded session as stored (``ended is None`` if it is running or was interrupted)."""

    id: int
    patient_id: str
    protocol: DosingProtocol
    clinician: str
    started: float
    t0: float | None
    ended: float | None
    end_reason: str | None
    speed: float  # 1.0 = real time; > 1 for a simulated session run faster
    app_version: str
    created: float

    def info(self) -> SessionInfo:
        return SessionInfo(
            self.patient_id,
            self.protocol,
            self.clinician,
            self.started,
            self.t0,
            self.ended,
            self.id,
            self.end_reason,
            self.speed,
        )


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    id: int
    source: str
    label: str
    kind: str
    stale_after_s: float

    def info(self) -> DeviceInfo:
        return DeviceInfo(self.source, self.label, self.kind, self.stale_after_s)


class RecordingReader:
    """Read-only access to the recordings of one database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        """The database read (the review window signs and exports through it too)."""
        return self._db

    @property
    def db_name(self) -> str:
        return self._db.name

    def list_sessions(self, limit: int | None = None) -> list[SessionRecord]:
        """Sessions, newest first."""
        stmt = _session_select().order_by(sessions_table.c.id.desc()).limit(limit)
        with self._read() as s:
            return [_session_record(row) for row in s.execute(stmt)]

    def session(self, ref: int | str) -> SessionRecord:
        """The session ``ref`` names: an id (int or digits) or ``"latest"``; ``StorageError`` if absent."""
        session_id = _parse_ref(ref)
        c = sessions_table.c
        stmt = (
            _session_select().order_by(c.id.desc()).limit(1)
            if session_id is None
            else _session_select().where(c.id == session_id)
        )
        with self._read() as s:
            row = s.execute(stmt).first()
            if row is not None:
                return _session_record(row)
            lo, hi = s.execute(select(func.min(c.id), func.max(c.id))).one()
        if session_id is None:
            raise StorageError(
                f"no sessions recorded in {self._db.name} yet; record one first, or pass --db URL of another database"
            )
        known = f"it has sessions {lo}-{hi}" if lo is not None else "it has no sessions"
        raise StorageError(
            f"no session {session_id} in {self._db.name} ({known}); `session-monitor export --db URL --session latest` "
            "exports the newest"
        )

    def devices(self, session_id: int) -> list[DeviceRecord]:
        d = devices_table.c
        stmt = select(d.id, d.source, d.label, d.kind, d.stale_after_s).where(d.session_id == session_id).order_by(d.id)
        with self._read() as s:
            return [DeviceRecord(int(r.id), r.source, r.label, r.kind, float(r.stale_after_s)) for r in s.execute(stmt)]

    def readings(
        self,
        session_id: int,
        channels: Iterable[str] | None = None,
        t_from: float | None = None,
        t_to: float | None = None,
    ) -> list[Reading]:
        """Numeric readings in time order; NULL values come back as NaN (``Reading`` convention)."""
        r, d = readings_table.c, devices_table.c
        stmt = select(r.device_id, r.channel, r.t_utc, r.value, r.quality, r.flags, r.device_t).where(r.session_id == session_id)
        stmt = _filtered(stmt, r.channel, r.t_utc, channels, t_from, t_to).order_by(r.t_utc, r.id)
        with self._read() as s:
            # device id -> source from the session's few devices rather than a join per row: a third faster
            source_of: dict[int, str] = {i: src for i, src in s.execute(select(d.id, d.source).where(d.session_id == session_id))}
            rows = _plain_rows(s, stmt)
            missing = {row[0] for row in rows} - source_of.keys()
            if missing:  # a reading filed under another session's device: never written so, but read it right
                source_of.update({i: src for i, src in s.execute(select(d.id, d.source).where(d.id.in_(missing)))})
        quality = {q.value: q for q in Quality}
        flags: dict[int, Flag] = {}
        # tuples unpacked by position and enums looked up once: a 4-hour session has ~60,000 rows
        return [
            Reading(
                source_of[device_id],
                channel,
                t,
                math.nan if value is None else value,
                quality[q],
                flags[f] if f in flags else flags.setdefault(f, Flag(f)),
                device_t,
            )
            for device_id, channel, t, value, q, f, device_t in rows
        ]

    def waveforms(
        self,
        session_id: int,
        channels: Iterable[str] | None = None,
        t_from: float | None = None,
        t_to: float | None = None,
    ) -> list[WaveformBlock]:
        """Waveform chunks in time order (``t_from``/``t_to`` select chunks by their start time)."""
        w, d = waveform_chunks_table.c, devices_table.c
        stmt = (
            select(d.source, w.channel, w.t0_utc, w.fs, w.n, w.dtype, w.data)
            .join_from(waveform_chunks_table, devices_table, w.device_id == d.id)
            .where(w.session_id == session_id)
            .order_by(w.t0_utc, w.id)
        )
        stmt = _filtered(stmt, w.channel, w.t0_utc, channels, t_from, t_to)
        with self._read() as s:
            rows = s.execute(stmt).all()
        return [
            WaveformBlock(
                row.source, row.channel, row.t0_utc, row.fs, np.frombuffer(row.data, dtype=row.dtype, count=row.n).astype(float)
            )
            for row in rows
        ]

    def waveform_series(
        self, session_id: int, channel: str, t_from: float | None = None, t_to: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One waveform channel as ``(t, value)`` float64 arrays, decoded in bulk (chunks starting in
        [``t_from``, ``t_to``)): a 4-hour 75 Hz pleth is 14,400 chunks, too many for one
        ``WaveformBlock`` each."""
        t0s, fss, ns, v = self._chunks(session_id, channel, t_from, t_to)
        if not t0s:
            return np.empty(0), np.empty(0)
        n = np.array(ns, dtype=np.int64)
        t = np.arange(int(n.sum()), dtype=np.float64)  # sample index -> index within its chunk -> seconds -> time
        t -= np.repeat(np.cumsum(n) - n, n)
        fs = np.array(fss, dtype=np.float64)
        t /= fs[0] if np.all(fs == fs[0]) else np.repeat(fs, n)
        t += np.repeat(np.array(t0s, dtype=np.float64), n)
        return t, v.astype(np.float64)

    def waveform_envelope(self, session_id: int, channel: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per stored chunk (about 1 s): its start time, and the lowest and highest sample (NaN
        ignored; NaN when the whole chunk is). What a whole-session overview can show of 1.1
        million samples, at a fraction of the cost."""
        t0s, _, ns, v = self._chunks(session_id, channel, None, None)
        if not t0s:
            return np.empty(0), np.empty(0), np.empty(0)
        starts = np.cumsum(np.array(ns, dtype=np.int64)) - np.array(ns, dtype=np.int64)
        with np.errstate(invalid="ignore"):
            lo, hi = np.fmin.reduceat(v, starts), np.fmax.reduceat(v, starts)
        return np.array(t0s, dtype=np.float64), lo.astype(np.float64), hi.astype(np.float64)

    def _chunks(
        self, session_id: int, channel: str, t_from: float | None, t_to: float | None
    ) -> tuple[tuple[float, ...], tuple[float, ...], tuple[int, ...], np.ndarray]:
        """Chunk start times, rates and sizes, and every sample in one array (as stored, float32)."""
        w = waveform_chunks_table.c
        stmt = select(w.t0_utc, w.fs, w.n, w.dtype, w.data).where(w.session_id == session_id, w.channel == channel)
        stmt = _filtered(stmt, w.channel, w.t0_utc, None, t_from, t_to).order_by(w.t0_utc, w.id)
        with self._read() as s:
            rows = _plain_rows(s, stmt)
        if not rows:
            return (), (), (), np.empty(0)
        t0s, fss, ns, dtypes, blobs = zip(*rows, strict=True)
        if len(set(dtypes)) == 1:
            v = np.frombuffer(b"".join(blobs), dtype=dtypes[0])
        else:
            v = np.concatenate(
                [np.frombuffer(b, dtype=d, count=k).astype(np.float64) for b, d, k in zip(blobs, dtypes, ns, strict=True)]
            )
        return t0s, fss, ns, v

    def events(self, session_id: int) -> list[SessionEvent]:
        e = events_table.c
        stmt = select(e.kind, e.t_utc, e.source, e.data).where(e.session_id == session_id).order_by(e.t_utc, e.id)
        with self._read() as s:
            rows = s.execute(stmt).all()
        return [SessionEvent(EventKind(row.kind), row.t_utc, row.source, json.loads(row.data)) for row in rows]

    # ---- monitor.ports.SessionReader (the review) -------------------------------------------

    def count_sessions(self, flt: SessionFilter) -> int:
        """How many sessions match ``flt`` (one COUNT query)."""
        stmt = _session_filtered(select(func.count()).select_from(sessions_table), flt)
        with self._read() as s:
            return int(s.execute(stmt).scalar_one())

    def find_sessions(self, flt: SessionFilter, offset: int, limit: int) -> list[SessionListing]:
        """One page of matching sessions, newest first (filtered and paged in SQL)."""
        c = sessions_table.c
        stmt = _session_select().add_columns(_high_alarm_exists().label("had_high"), _reviewed_exists().label("reviewed"))
        stmt = _session_filtered(stmt, flt).order_by(c.id.desc()).offset(offset).limit(limit)
        with self._read() as s:
            return [
                SessionListing(_session_record(row).info(), bool(row.had_high), bool(row.reviewed)) for row in s.execute(stmt)
            ]

    def session_info(self, ref: int | str) -> SessionInfo:
        return self.session(ref).info()

    def series(
        self,
        session_id: int,
        channels: Iterable[str] | None = None,
        t_from: float | None = None,
        t_to: float | None = None,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Numerics as ``{channel: (t, value)}`` float64 arrays in time order; NULL values are NaN, and
        so are INVALID ones that kept their number for review (IMPLAUSIBLE): a trend never plots them."""
        r = readings_table.c
        shown = case((r.quality == int(Quality.INVALID), None), else_=r.value)
        base = select(r.t_utc, shown).where(r.session_id == session_id)
        base = _filtered(base, r.channel, r.t_utc, channels, t_from, t_to)
        counts_stmt = base.with_only_columns(r.channel, func.count()).group_by(r.channel).order_by(r.channel)
        with self._read() as s:
            counts = s.execute(counts_stmt).all()
            rows = _plain_rows(s, base.order_by(r.channel, r.t_utc, r.id))
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if not rows:
            return out
        both = np.array(rows, dtype=np.float64)  # numpy turns NULL (None) into NaN at C speed
        t_all, v_all = both[:, 0].copy(), both[:, 1].copy()
        start = 0
        for channel, n in counts:
            out[channel] = (t_all[start : start + n], v_all[start : start + n])
            start += n
        return out

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """One short read transaction; database trouble becomes a StorageError naming the database."""
        try:
            with self._db.sessions() as s:
                yield s
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise StorageError(f"Could not read {self._db.name}: {failure_reason(exc)}: check the database and retry") from exc
        except sa_exc.DatabaseError as exc:
            if type(exc) is not sa_exc.DatabaseError:
                raise
            raise StorageError(f"Could not read {self._db.name}: {failure_reason(exc)}: restore the backup") from exc


def _plain_rows(s: Session, stmt: Executable) -> list[Any]:
    """All rows of ``stmt`` as the DB-API driver returns them (tuples), skipping SQLAlchemy's row
    objects: half the time for the 60,000 readings of a 4-hour session. Only for columns that need
    no result processing (floats, integers, bytes, plain strings)."""
    result = cast(CursorResult[Any], s.execute(stmt))
    collecting = gc.isenabled()
    gc.disable()  # tens of thousands of row tuples, all alive until the caller converts them: no cycles to find
    try:
        return list(result.cursor.fetchall())
    finally:
        if collecting:
            gc.enable()
        result.close()


def _parse_ref(ref: int | str) -> int | None:
    """An id, or None for "latest"."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref
    text = str(ref).strip().lower()
    if text == LATEST:
        return None
    if text.isdigit():
        return int(text)
    raise StorageError(f"{ref!r} does not name a session: use a session number or 'latest'")


def _session_select() -> Select[Any]:
    c = sessions_table.c
    return select(
        c.id,
        c.patient_id,
        c.protocol,
        c.clinician,
        c.started_utc,
        c.t0_utc,
        c.ended_utc,
        c.end_reason,
        c.speed,
        c.app_version,
        c.created_utc,
    )


def _session_record(r: Row[Any]) -> SessionRecord:
    return SessionRecord(
        id=int(r.id),
        patient_id=r.patient_id,
        protocol=DosingProtocol(r.protocol),
        clinician=r.clinician,
        started=r.started_utc,
        t0=r.t0_utc,
        ended=r.ended_utc,
        end_reason=r.end_reason,
        speed=r.speed,
        app_version=r.app_version,
        created=r.created_utc,
    )


def _filtered(
    stmt: Select[Any],
    channel_col: ColumnElement[Any],
    t_col: ColumnElement[Any],
    channels: Iterable[str] | None,
    t_from: float | None,
    t_to: float | None,
) -> Select[Any]:
    if channels is not None:
        stmt = stmt.where(channel_col.in_(list(channels)))
    if t_from is not None:
        stmt = stmt.where(t_col >= t_from)
    if t_to is not None:
        stmt = stmt.where(t_col < t_to)
    return stmt


#: How a raised or escalated high-priority alarm looks in the stored JSON (``sort_keys``, default separators).
_HIGH_PATTERN = '%"priority": "HIGH"%'


def _high_alarm_exists() -> ColumnElement[bool]:
    e = events_table.c
    return exists().where(
        and_(
            e.session_id == sessions_table.c.id,
            e.kind == EventKind.ALARM.value,
            e.data.like(_HIGH_PATTERN),
            e.data.like('%"transition": "raised"%') | e.data.like('%"transition": "escalated"%'),
        )
    )


def _reviewed_exists() -> ColumnElement[bool]:
    """A "reviewed" signature with no event (amendment, note, alarm-log entry) written after it.
    A quick SQL approximation for the browser; the review window checks the record's hash."""
    g, e = signatures_table.c, events_table.c
    later = exists().where(and_(e.session_id == g.session_id, e.recorded_utc > g.signed_utc))
    return exists().where(and_(g.session_id == sessions_table.c.id, g.meaning == "reviewed", ~later))


def _session_filtered(stmt: Select[Any], flt: SessionFilter) -> Select[Any]:
    c = sessions_table.c
    if flt.patient_id:
        pid = flt.patient_id.strip()
        stmt = stmt.where(c.patient_id.like(pid[:-1] + "%") if pid.endswith("*") else c.patient_id == pid)
    if flt.not_reviewed:
        stmt = stmt.where(~_reviewed_exists())
    if flt.started_from is not None:
        stmt = stmt.where(c.started_utc >= flt.started_from)
    if flt.started_to is not None:
        stmt = stmt.where(c.started_utc < flt.started_to)
    if flt.protocol is not None:
        stmt = stmt.where(c.protocol == flt.protocol.value)
    if flt.high_alarms_only:
        stmt = stmt.where(_high_alarm_exists())
    return stmt
