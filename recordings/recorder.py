"""The recorder: the one thread that writes the database (``RecordingSink`` for the core).

Readings, waveform blocks and device/notice events are only queued by the callers; the "recorder"
thread commits them in one transaction at least every ``commit_interval_s``, so a killed process
loses at most about a second. Clinician input (session start, dose, end, events, device
registration) runs on the same thread, so there is exactly one writer, but the caller waits until it
is committed: what the nurse sees as saved is saved.

Readings, the bulk of the data, are inserted as one executemany of an INSERT compiled once by
SQLAlchemy Core (no ORM objects, no per-row parameter processing); chunks, events and sessions use
``session.execute(insert(table), rows)``.

When the database fails (locked, disk full, I/O error) nothing is dropped: the batch stays in memory,
is retried with back-off, and a technical notice tells the nurse until writes succeed again. A bug
is not swallowed: it is logged, announced and re-raised to ``threading.excepthook``.
"""

from __future__ import annotations

import enum
import json
import logging
import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Final, TypeVar, cast

import numpy as np
from sqlalchemy import CursorResult, Dialect, Table, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from monitor.clock import Clock
from monitor.errors import StorageError
from monitor.events import NoticeLevel, SessionEvent, TechnicalNotice
from monitor.ports import DeviceInfo, NoticeSink
from monitor.readings import Reading, WaveformBlock
from monitor.session import SessionInfo
from recordings import journal as jr
from recordings.database import Database, failure_reason
from recordings.models import devices_table, events_table, readings_table, sessions_table, waveform_chunks_table
from recordings.rows import device_row, insert_one, unregistered_device

log = logging.getLogger(__name__)

T = TypeVar("T")


def _installed_version() -> str:
    try:
        return metadata.version("session-monitor")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


APP_VERSION: Final = _installed_version()
NOTICE_KEY: Final = "recorder"
BACKLOG_NOTICE_KEY: Final = "recorder.backlog"
#: Readings waiting in memory before "recording degraded" is announced (nothing is ever dropped).
DEFAULT_BACKLOG_LIMIT: Final = 2_000_000
#: Waveform samples waiting before the same notice (~160 MB as float64).
DEFAULT_SAMPLE_BACKLOG_LIMIT: Final = 20_000_000
#: Waveform blocks are merged into chunks of at most this many seconds of signal ...
CHUNK_S: Final = 1.0
#: ... and a chunk open this long in real time is written at the next commit even if shorter, so a
#: killed process loses about a second of waveform at most (chunks are 0.5-1 s at real-time speed).
CHUNK_MAX_WAIT_S: Final = 0.5
CHUNK_DTYPE: Final = "<f4"
#: Readings per transaction: bounds memory and transaction time when a large backlog is written.
MAX_READINGS_PER_TRANSACTION: Final = 100_000
#: Longest wait between retries while the database fails.
MAX_BACKOFF_S: Final = 5.0
#: How long clinician input may wait for its commit before the caller is told it was not saved.
DEFAULT_SYNC_TIMEOUT_S: Final = 10.0
#: A device that sends data without registering gets a row with these defaults.
#: How often the writer checks that the database file is still the one at its path.
FILE_CHECK_S: Final = 1.0
#: A database failing this long hands what is held in memory to the emergency journal.
JOURNAL_AFTER_S: Final = 5.0
#: Rows per journal line when salvaging a session from a database file that was deleted.
SALVAGE_ROWS: Final = 10_000


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """Counters for benchmarks and the debug overlay (a snapshot; the writer keeps counting)."""

    readings_written: int
    chunks_written: int
    samples_written: int
    events_written: int
    batches: int
    last_commit_utc: float | None
    last_batch_s: float
    write_failures: int
    backlog_readings: int
    backlog_samples: int
    failing: bool


# ---- queue items --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Readings:
    session_id: int
    readings: list[Reading]


@dataclass(slots=True)
class _Block:
    session_id: int
    block: WaveformBlock


@dataclass(slots=True)
class _Event:
    row: dict[str, Any]


@dataclass(slots=True)
class _Job:
    """Clinician/lifecycle write: ``fn`` runs in its own transaction; ``on_commit`` after the commit."""

    fn: Callable[[Session], Any]
    what: str
    future: Future[Any] = field(default_factory=Future)
    on_commit: Callable[[Any], None] | None = None


@dataclass(slots=True)
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(slots=True)
class _Stop:
    deadline: float  # monotonic


# ---- waveform chunks ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Chunk:
    session_id: int
    source: str
    channel: str
    t0: float
    fs: float
    n: int
    data: bytes


class _OpenChunk:
    """Contiguous blocks of one (session, source, channel) being merged into one chunk."""

    __slots__ = ("channel", "fs", "n", "opened", "parts", "session_id", "source", "t0")

    def __init__(self, session_id: int, block: WaveformBlock) -> None:
        self.session_id, self.source, self.channel = session_id, block.source, block.channel
        self.t0, self.fs = block.t0, block.fs
        self.parts: list[np.ndarray] = [block.samples]
        self.n = block.n
        self.opened = time.monotonic()

    def continues(self, block: WaveformBlock) -> bool:
        """True if ``block`` starts where this chunk ends (within half a sample) at the same rate."""
        return block.fs == self.fs and abs(block.t0 - (self.t0 + self.n / self.fs)) <= 0.5 / self.fs

    def append(self, block: WaveformBlock) -> None:
        self.parts.append(block.samples)
        self.n += block.n

    @property
    def full(self) -> bool:
        return self.n >= self.fs * CHUNK_S

    def close(self) -> _Chunk:
        samples = np.concatenate(self.parts).astype(CHUNK_DTYPE, copy=False)
        return _Chunk(self.session_id, self.source, self.channel, self.t0, self.fs, self.n, samples.tobytes())


# ---- the recorder -------------------------------------------------------------------------------


class Recorder:
    """Implements ``monitor.ports.RecordingSink``. ``start()`` before use, ``stop()`` to drain and join."""

    def __init__(
        self,
        db: Database,
        notices: NoticeSink | None = None,
        commit_interval_s: float = 0.5,
        app_version: str = APP_VERSION,
        *,
        clock: Clock | None = None,
        backlog_limit: int = DEFAULT_BACKLOG_LIMIT,
        sample_backlog_limit: int = DEFAULT_SAMPLE_BACKLOG_LIMIT,
        sync_timeout_s: float = DEFAULT_SYNC_TIMEOUT_S,
        journal: jr.Journal | None = None,
    ) -> None:
        if commit_interval_s <= 0:
            raise ValueError(f"commit_interval_s must be positive, got {commit_interval_s}")
        self._db = db
        self._readings_insert = _BulkInsert(readings_table, READING_COLUMNS, db.engine.dialect)
        self._notices = notices
        self._interval = commit_interval_s
        self._app_version = app_version
        self._clock = clock
        self._backlog_limit = backlog_limit
        self._sample_backlog_limit = sample_backlog_limit
        self._sync_timeout_s = sync_timeout_s
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping = False
        # backlog counters: raised by submitters, lowered by the writer after each commit
        self._count_lock = threading.Lock()
        self._backlog_readings = 0
        self._backlog_samples = 0
        # writer-thread state (nobody else touches it)
        self._device_ids: dict[tuple[int, str], int] = {}
        self._readings: deque[_Readings] = deque()
        self._open_chunks: dict[tuple[int, str, str], _OpenChunk] = {}
        self._chunks: list[_Chunk] = []
        self._events: list[dict[str, Any]] = []
        self._flushes: list[threading.Event] = []
        self._next_write = 0.0
        self._backoff = 0.0
        self._fail_reason: str | None = None
        self._degraded = False
        # counters (written by the writer, read by anyone)
        self._readings_written = 0
        self._chunks_written = 0
        self._samples_written = 0
        self._events_written = 0
        self._batches = 0
        self._write_failures = 0
        self._last_commit_utc: float | None = None
        self._last_batch_s = 0.0
        # the emergency journal (see recordings.journal) and the database file's identity
        self._journal = journal if journal is not None else jr.Journal(db.name)
        self._session_rows: dict[int, dict[str, Any]] = {}
        self._journalled_sessions: set[int] = set()
        self._file_id: tuple[int, int] | None = None
        self._file_size = 0
        self._next_check = 0.0
        self._lost: str | None = None
        self._failing_since: float | None = None
        self.dropped_readings = 0
        self.dropped_samples = 0
        #: Set at stop when anything went to the journal or was lost: the program exits non-zero with it.
        self.exit_message: str | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("recorder already started")
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write everything queued so far (retrying for up to most of ``timeout_s``), then join."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._queue.put(_Stop(deadline=time.monotonic() + 0.8 * timeout_s))
        thread.join(timeout_s)
        if thread.is_alive():
            log.error(
                "recorder thread did not stop within %.1f s; %d readings may not be saved", timeout_s, self._backlog_readings
            )
            return
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued before this call is committed; False on timeout."""
        if not self.running:
            return self._backlog_readings == 0 and self._backlog_samples == 0
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout_s)

    def stats(self) -> RecorderStats:
        return RecorderStats(
            readings_written=self._readings_written,
            chunks_written=self._chunks_written,
            samples_written=self._samples_written,
            events_written=self._events_written,
            batches=self._batches,
            last_commit_utc=self._last_commit_utc,
            last_batch_s=self._last_batch_s,
            write_failures=self._write_failures,
            backlog_readings=self._backlog_readings,
            backlog_samples=self._backlog_samples,
            failing=self._fail_reason is not None,
        )

    # ---- RecordingSink: queued (any thread, never blocks) ------------------------------------

    def submit_readings(self, session_id: int, readings: list[Reading]) -> None:
        if not readings:
            return
        batch = list(readings)  # the caller may reuse its list
        self._warn_if_stopped(len(batch), "readings")
        with self._count_lock:
            self._backlog_readings += len(batch)
        self._queue.put(_Readings(session_id, batch))

    def submit_waveform(self, session_id: int, block: WaveformBlock) -> None:
        self._warn_if_stopped(block.n, "waveform samples")
        with self._count_lock:
            self._backlog_samples += block.n
        self._queue.put(_Block(session_id, block))

    def submit_event(self, session_id: int, event: SessionEvent) -> None:
        self._queue.put(_Event(_event_row(session_id, event)))

    def _warn_if_stopped(self, n: int, what: str) -> None:
        if self._stopping:
            log.error("%d %s submitted after the recorder was stopped: they will not be saved", n, what)

    # ---- RecordingSink: committed before returning (clinician input) -------------------------

    def begin_session(self, info: SessionInfo) -> int:
        """Create the session row; returns its id once committed."""
        row = {
            "patient_id": info.patient_id,
            "protocol": info.protocol.value,
            "clinician": info.clinician,
            "started_utc": info.started,
            "t0_utc": info.t0,
            "ended_utc": info.ended,
            "end_reason": info.end_reason,
            "speed": float(info.speed),
            "app_version": self._app_version,
            "created_utc": time.time(),
        }

        def job(s: Session) -> int:
            return insert_one(s, insert(sessions_table).values(**row))

        def remember(sid: Any) -> None:
            self._session_rows[int(sid)] = dict(row)

        return int(self._call(job, "the session start", on_commit=remember))

    def update_session(self, info: SessionInfo) -> None:
        """Store t0 (first dose) and the end of the session."""
        sid = info.session_id
        if sid is None:
            raise ValueError("update_session needs a SessionInfo with a session_id (from begin_session)")
        values = {"t0_utc": info.t0, "ended_utc": info.ended, "end_reason": info.end_reason}

        def job(s: Session) -> None:
            result = cast(CursorResult[Any], s.execute(update(sessions_table).where(sessions_table.c.id == sid).values(**values)))
            if result.rowcount != 1:
                raise LookupError(f"no session {sid} in {self._db.name} to update")

        def remember(_: Any) -> None:
            if sid in self._session_rows:
                self._session_rows[sid].update(values)
                self._journalled_sessions.discard(sid)  # journal the new end, if a journal is in use
                if self._journal.path is not None or self._lost is not None:
                    try:
                        self._journal_session(sid, [])
                    except OSError as exc:
                        log.error("the end of session %d could not be journalled: %s", sid, exc)

        self._call(job, "the session times", on_commit=remember)

    def add_event(self, session_id: int, event: SessionEvent) -> None:
        row = _event_row(session_id, event)

        def job(s: Session) -> None:
            s.execute(insert(events_table), [row])

        def count(_: Any) -> None:
            self._events_written += 1
            if self._lost is not None:  # committed into a file that is gone: the journal gets it too
                self._events.append(row)

        self._call(job, f"the {event.kind.value.replace('_', ' ')} event", on_commit=count)

    def register_device(self, session_id: int, info: DeviceInfo) -> None:
        """Create (or refresh) the device row of ``info.source`` in this session."""

        def job(s: Session) -> int:
            return device_row(s, session_id, info, refresh=True)

        def remember(device_id: Any) -> None:
            self._device_ids[(session_id, info.source)] = int(device_id)

        self._call(job, f"device {info.label}", on_commit=remember)

    def _call(self, fn: Callable[[Session], T], what: str, on_commit: Callable[[Any], None] | None = None) -> T:
        """Run ``fn`` on the writer thread in its own transaction and wait for the commit."""
        thread = self._thread
        if thread is None or not thread.is_alive() or self._stopping:
            raise StorageError(f"Could not save {what}: recording is not running (see the log): restart Session Monitor")
        if threading.current_thread() is thread:
            raise RuntimeError("clinician writes cannot be made from the recorder thread itself")
        job = _Job(fn, what, on_commit=on_commit)
        self._queue.put(job)
        deadline = time.monotonic() + self._sync_timeout_s
        while True:
            try:
                return job.future.result(timeout=0.1)  # type: ignore[no-any-return]
            except TimeoutError:
                pass
            if not thread.is_alive() and job.future.cancel():
                raise StorageError(f"Could not save {what}: recording has stopped (see the log): restart Session Monitor")
            if time.monotonic() > deadline and job.future.cancel():
                raise StorageError(
                    f"Could not save {what}: database {self._db.name} did not answer within {self._sync_timeout_s:.0f} s: "
                    "check the database (locked by another program? disk full?) and retry"
                )

    # ---- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:
            log.exception("the recorder thread failed; recording has stopped")
            self._post(
                NOTICE_KEY,
                f"Recording stopped by an internal error ({type(exc).__name__}: {exc}) — this session is no longer saved; "
                "restart Session Monitor and report the crash",
                NoticeLevel.CRITICAL,
            )
            self._fail_waiting_jobs()
            raise
        finally:
            self._stopping = True

    def _loop(self) -> None:
        self._next_write = time.monotonic() + self._interval
        while True:
            timeout = max(0.0, self._next_write - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            if isinstance(item, _Stop):
                self._drain(item.deadline)
                self._final_account()
                self._fail_waiting_jobs()
                return
            if item is not None:
                self._take(item)
            if time.monotonic() >= self._next_check:
                self._check_file()
            if time.monotonic() >= self._next_write:
                self._write()
            self._check_backlog()

    def _take(self, item: object) -> None:
        """Put one queue item into the pending batch (or run it, for clinician jobs)."""
        if isinstance(item, _Readings):
            self._readings.append(item)
        elif isinstance(item, _Block):
            self._add_block(item.session_id, item.block)
        elif isinstance(item, _Event):
            self._events.append(item.row)
        elif isinstance(item, _Job):
            if self._fail_reason is None:
                self._write()  # keep order: data queued before the clinician's action goes first
            self._run_job(item)
        elif isinstance(item, _Flush):
            self._close_chunks(everything=True)
            self._flushes.append(item.done)
            if self._fail_reason is None:
                self._next_write = 0.0  # now
        else:
            raise TypeError(f"recorder received an unknown item {item!r}")

    def _add_block(self, session_id: int, block: WaveformBlock) -> None:
        if block.n == 0:
            return
        key = (session_id, block.source, block.channel)
        chunk = self._open_chunks.get(key)
        if chunk is not None and not chunk.continues(block):
            self._chunks.append(self._open_chunks.pop(key).close())
            chunk = None
        if chunk is None:
            chunk = self._open_chunks[key] = _OpenChunk(session_id, block)
        else:
            chunk.append(block)
        if chunk.full:
            self._chunks.append(self._open_chunks.pop(key).close())

    def _close_chunks(self, everything: bool) -> None:
        """Close chunks open for ``CHUNK_MAX_WAIT_S`` of real time (or all of them)."""
        now = time.monotonic()
        for key in [k for k, c in self._open_chunks.items() if everything or now - c.opened >= CHUNK_MAX_WAIT_S]:
            self._chunks.append(self._open_chunks.pop(key).close())

    def _run_job(self, job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            return  # the caller gave up waiting before we got here: do not write it late
        try:
            with self._db.writer_sessions.begin() as s:
                result = job.fn(s)
            if job.on_commit is not None:
                job.on_commit(result)
        except Exception as exc:
            if _environmental(exc):
                log.warning("could not save %s: %s", job.what, exc)
                job.future.set_exception(StorageError(_job_failure_message(job.what, self._db.name, exc)))
            else:  # a bug in what the caller asked for: raised in the caller's thread, writer carries on
                job.future.set_exception(exc)
        else:
            job.future.set_result(result)

    # ---- batch writes --------------------------------------------------------------------------

    def _write(self) -> bool:
        """Commit the pending batch in one transaction; on an environmental failure keep it and back off."""
        self._close_chunks(everything=self._stopping)
        if self._lost is not None:  # the database file is gone: everything goes to the journal
            return self._to_journal()
        readings = self._take_readings(MAX_READINGS_PER_TRANSACTION)
        chunks, events = self._chunks, self._events
        if not (readings or chunks or events):
            self._written(0, [], [])
            return True
        started = time.perf_counter()
        new_devices: dict[tuple[int, str], int] = {}
        try:
            with self._db.writer_sessions.begin() as s:
                self._insert_readings(s, readings, new_devices)
                self._insert_chunks(s, chunks, new_devices)
                if events:
                    s.execute(insert(events_table), events)
        except Exception as exc:
            if not _environmental(exc):
                raise
            self._readings.extendleft(reversed(readings))
            self._write_failed(exc)
            if self._failing_since is not None and time.monotonic() - self._failing_since >= JOURNAL_AFTER_S:
                self._to_journal()
            return False
        self._device_ids.update(new_devices)
        self._last_batch_s = time.perf_counter() - started
        self._written(sum(len(r.readings) for r in readings), chunks, events)
        return True

    def _take_readings(self, limit: int) -> list[_Readings]:
        taken: list[_Readings] = []
        n = 0
        while self._readings and n < limit:
            item = self._readings.popleft()
            taken.append(item)
            n += len(item.readings)
        return taken

    def _device_id(self, s: Session, session_id: int, source: str, new: dict[tuple[int, str], int]) -> int:
        key = (session_id, source)
        device_id = self._device_ids.get(key) or new.get(key)
        if device_id is None:  # data from a driver that never registered: still recorded
            device_id = new[key] = device_row(s, session_id, unregistered_device(source), refresh=False)
        return device_id

    def _insert_readings(self, s: Session, batches: list[_Readings], new: dict[tuple[int, str], int]) -> None:
        if not batches:
            return
        rows: list[tuple[Any, ...]] = []
        append, isfinite = rows.append, math.isfinite
        for batch in batches:
            sid = batch.session_id
            devices: dict[str, int] = {}
            for r in batch.readings:
                device_id = devices.get(r.source)
                if device_id is None:
                    device_id = devices[r.source] = self._device_id(s, sid, r.source, new)
                v = r.value
                append((sid, device_id, r.channel, r.t, v if isfinite(v) else None, int(r.quality), int(r.flags), r.device_t))
        self._readings_insert.execute(s, rows)

    def _insert_chunks(self, s: Session, chunks: list[_Chunk], new: dict[tuple[int, str], int]) -> None:
        if not chunks:
            return
        rows = [
            {
                "session_id": c.session_id,
                "device_id": self._device_id(s, c.session_id, c.source, new),
                "channel": c.channel,
                "t0_utc": c.t0,
                "fs": c.fs,
                "n": c.n,
                "dtype": CHUNK_DTYPE,
                "data": c.data,
            }
            for c in chunks
        ]
        s.execute(insert(waveform_chunks_table), rows)

    def _written(self, n_readings: int, chunks: list[_Chunk], events: list[dict[str, Any]]) -> None:
        """Bookkeeping after a successful commit (or an empty one)."""
        n_samples = sum(c.n for c in chunks)
        if n_readings or chunks or events:
            self._chunks, self._events = [], []
            with self._count_lock:
                self._backlog_readings -= n_readings
                self._backlog_samples -= n_samples
            self._readings_written += n_readings
            self._chunks_written += len(chunks)
            self._samples_written += n_samples
            self._events_written += len(events)
            self._batches += 1
            self._last_commit_utc = time.time()
        self._failing_since = None
        if self._fail_reason is not None:
            log.info("recording works again; the readings kept in memory are being saved")
            self._fail_reason = None
            self._post(NOTICE_KEY, "Recording works again — readings kept in memory are saved", NoticeLevel.INFO, active=False)
        self._backoff = 0.0
        if self._readings:  # more than one transaction's worth is waiting: go on at once
            self._next_write = 0.0
            return
        self._next_write = time.monotonic() + self._interval
        for done in self._flushes:  # everything taken before each flush marker is now committed
            done.set()
        self._flushes = []

    def _write_failed(self, exc: Exception) -> None:
        self._write_failures += 1
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        reason = failure_reason(exc)
        self._backoff = min(MAX_BACKOFF_S, max(self._interval, 2 * self._backoff))
        self._next_write = time.monotonic() + self._backoff
        if reason != self._fail_reason:
            log.error(
                "recording is failing (%s): %d readings and %d samples kept in memory, retrying",
                exc,
                self._backlog_readings,
                self._backlog_samples,
            )
            self._post(
                NOTICE_KEY,
                f"Recording is failing: {reason} — readings are kept in memory and retried; free disk space / check the database",
                NoticeLevel.CRITICAL,
            )
        else:
            log.debug("recording still failing (%s); next try in %.1f s", reason, self._backoff)
        self._fail_reason = reason

    def _check_backlog(self) -> None:
        """Announce (never drop) a backlog the database cannot keep up with; clear it at half the limit."""
        readings, samples = self._backlog_readings, self._backlog_samples
        over = readings > self._backlog_limit or samples > self._sample_backlog_limit
        under = readings <= self._backlog_limit // 2 and samples <= self._sample_backlog_limit // 2
        if over and not self._degraded:
            self._degraded = True
            log.error("recording degraded: %d readings and %d samples waiting to be written", readings, samples)
            self._post(
                BACKLOG_NOTICE_KEY,
                f"Recording degraded: {readings} readings are waiting to be written — nothing is dropped, but memory is "
                "filling up; check the database and disk",
                NoticeLevel.CRITICAL,
            )
        elif under and self._degraded:
            self._degraded = False
            self._post(BACKLOG_NOTICE_KEY, "Recording has caught up", NoticeLevel.INFO, active=False)

    def _drain(self, deadline: float) -> None:
        """On stop: take what is still queued, close every chunk and write until done or out of time."""
        self._stopping = True
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if not isinstance(item, _Stop):
                self._take(item)
        self._close_chunks(everything=True)
        while True:
            if self._write() and not self._readings:
                return
            if time.monotonic() + self._backoff > deadline:
                break
            if self._backoff:
                time.sleep(self._backoff)
        if self._to_journal():
            return
        log.error(
            "recorder stopped with %d readings, %d samples and %d events NOT saved: %s",
            self._backlog_readings,
            self._backlog_samples,
            len(self._events),
            self._fail_reason,
        )

    # ---- the database file and the emergency journal ---------------------------------------

    def _check_file(self) -> None:
        """Is the SQLite file still the one we opened (same inode and device, not shorter)? If not, the
        connection writes into a file nobody will see again: say so and switch to the journal."""
        self._next_check = time.monotonic() + FILE_CHECK_S
        path = self._db.path
        if path is None or self._lost is not None:
            return
        try:
            st = os.stat(path)
        except FileNotFoundError:
            what = "its folder was deleted" if not path.parent.exists() else "the file was deleted"
            return self._lose(f"{what} ({path})")
        except OSError as exc:
            return self._lose(f"{path} cannot be checked ({exc.strerror or exc})")
        ident = (st.st_dev, st.st_ino)
        if self._file_id is None:
            self._file_id = ident
        elif ident != self._file_id:
            return self._lose(f"{path} was replaced by another file")
        if st.st_size < self._file_size:
            return self._lose(f"{path} was truncated ({self._file_size} → {st.st_size} bytes)")
        self._file_size = st.st_size

    def _lose(self, reason: str) -> None:
        self._lost = reason
        log.error("recording lost its database file: %s", reason)
        self._salvage()
        self._to_journal()
        self._post(NOTICE_KEY, self._lost_message(), NoticeLevel.CRITICAL)

    def _lost_message(self) -> str:
        return (
            f"Recording lost its database file: {self._lost} — readings kept in memory, saving to "
            f"{self._journal.planned_path}; memory is bounded at {self._backlog_limit} readings and "
            f"{self._sample_backlog_limit} waveform samples (beyond: oldest waveform dropped first, then oldest readings). "
            "Leave the program running; restore the folder and import with: session-monitor recover FILE"
        )

    def _salvage(self) -> None:
        """Copy what was already committed for this program's sessions out of the deleted file (our
        connection still holds it open) into the journal; best effort, said in the log if it fails."""
        if not self._session_rows:
            return
        try:
            with self._db.writer_sessions.begin() as s:
                for sid in list(self._session_rows):
                    self._journal_session(sid, [])
                    lines: list[dict[str, Any]] = []
                    r, d = readings_table.c, devices_table.c
                    q = (
                        select(d.source, r.channel, r.t_utc, r.value, r.quality, r.flags, r.device_t)
                        .join(devices_table, d.id == r.device_id)
                        .where(r.session_id == sid)
                        .order_by(r.id)
                    )
                    rows = [list(x) for x in s.execute(q)]
                    for i in range(0, len(rows), SALVAGE_ROWS):
                        lines.append(jr.readings_line(sid, rows[i : i + SALVAGE_ROWS]))
                    w = waveform_chunks_table.c
                    for c in s.execute(
                        select(d.source, w.channel, w.t0_utc, w.fs, w.n, w.dtype, w.data)
                        .join(devices_table, d.id == w.device_id)
                        .where(w.session_id == sid)
                    ):
                        lines.append(jr.chunk_line(sid, c.source, c.channel, c.t0_utc, c.fs, c.n, c.dtype, c.data))
                    e = events_table.c
                    for ev in s.execute(select(events_table).where(e.session_id == sid)):
                        row = dict(ev._mapping)
                        row.pop("id", None)
                        lines.append(jr.event_line(row))
                    self._journal.append(lines)
                    log.warning("salvaged %d readings of session %d from the deleted database file", len(rows), sid)
        except Exception as exc:  # the salvage is a bonus; what is in memory still goes to the journal
            log.error("could not salvage the session from the deleted database file: %s", exc)

    def _journal_session(self, sid: int, lines: list[dict[str, Any]]) -> None:
        if sid not in self._journalled_sessions:
            row = self._session_rows.get(sid)
            if row is None:
                row = {"patient_id": "UNKNOWN", "protocol": "unknown", "clinician": "", "started_utc": 0.0, "speed": 1.0}
            self._journal.append([jr.session_line(sid, row)])
            self._journalled_sessions.add(sid)

    def _to_journal(self) -> bool:
        """Append everything held in memory to the journal; keep it (bounded) if no folder takes it."""
        self._close_chunks(everything=True)
        readings, chunks, events = list(self._readings), self._chunks, self._events
        lines: list[dict[str, Any]] = []
        try:
            for sid in {b.session_id for b in readings} | {c.session_id for c in chunks} | {e["session_id"] for e in events}:
                self._journal_session(sid, lines)
            for b in readings:
                rows = [
                    [
                        r.source,
                        r.channel,
                        r.t,
                        r.value if math.isfinite(r.value) else None,
                        int(r.quality),
                        int(r.flags),
                        r.device_t,
                    ]
                    for r in b.readings
                ]
                lines.append(jr.readings_line(b.session_id, rows))
            for c in chunks:
                lines.append(jr.chunk_line(c.session_id, c.source, c.channel, c.t0, c.fs, c.n, CHUNK_DTYPE, c.data))
            lines += [jr.event_line(e) for e in events]
            self._journal.append(lines)
        except OSError as exc:
            log.error("the emergency journal cannot be written either (%s): readings stay in memory", exc)
            self._enforce_bound()
            return False
        n_readings = sum(len(b.readings) for b in readings)
        n_samples = sum(c.n for c in chunks)
        self._readings.clear()
        self._chunks, self._events = [], []
        with self._count_lock:
            self._backlog_readings -= n_readings
            self._backlog_samples -= n_samples
        for done in self._flushes:  # what was queued is safe (in the journal)
            done.set()
        self._flushes = []
        return True

    def _enforce_bound(self) -> None:
        """Nothing is writable: keep memory bounded, dropping the oldest waveform first, then the oldest readings."""
        dropped_s = dropped_r = 0
        while self._backlog_samples > self._sample_backlog_limit and self._chunks:
            c = self._chunks.pop(0)
            dropped_s += c.n
            with self._count_lock:
                self._backlog_samples -= c.n
        while self._backlog_readings > self._backlog_limit and self._readings:
            b = self._readings.popleft()
            dropped_r += len(b.readings)
            with self._count_lock:
                self._backlog_readings -= len(b.readings)
        if dropped_s or dropped_r:
            self.dropped_samples += dropped_s
            self.dropped_readings += dropped_r
            log.error(
                "memory bound reached with nothing writable: dropped %d waveform samples, %d readings", dropped_s, dropped_r
            )
            self._post(
                BACKLOG_NOTICE_KEY,
                f"Recording: nothing is writable and memory is full — {self.dropped_samples} oldest waveform samples and "
                f"{self.dropped_readings} oldest readings dropped so far (bound {self._backlog_limit} readings, "
                f"{self._sample_backlog_limit} samples); free disk space now",
                NoticeLevel.CRITICAL,
            )

    def _final_account(self) -> None:
        """At stop: what the user must be told (exit non-zero) if the database did not take everything."""
        parts = []
        if self._journal.path is not None:
            parts.append(
                f"{self._journal.readings} readings, {self._journal.samples} waveform samples and {self._journal.events} "
                f"events were saved to the emergency journal {self._journal.path} — import them with: "
                f"session-monitor recover {self._journal.path}"
            )
        if self._lost is not None:
            parts.append(f"the database file was lost ({self._lost})")
        if self._backlog_readings or self._backlog_samples or self.dropped_readings or self.dropped_samples:
            parts.append(
                f"{self._backlog_readings + self.dropped_readings} readings and "
                f"{self._backlog_samples + self.dropped_samples} samples could not be saved anywhere"
            )
        self._journal.close()
        if parts:
            self.exit_message = "Recording: " + "; ".join(parts)

    def _fail_waiting_jobs(self) -> None:
        """Clinician writes still queued when the thread ends are refused, never left hanging."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Job) and item.future.set_running_or_notify_cancel():
                item.future.set_exception(StorageError(f"Could not save {item.what}: recording has stopped"))
            elif isinstance(item, _Flush):
                pass  # flush() times out by itself

    def _post(self, key: str, message: str, level: NoticeLevel, active: bool = True) -> None:
        if self._notices is None:
            return
        t = self._clock.now() if self._clock is not None else time.time()
        self._notices.post_notice(TechnicalNotice(key, message, level, t, active))


# ---- helpers ------------------------------------------------------------------------------------

#: Columns of a reading row, in the order ``_insert_readings`` builds its tuples.
READING_COLUMNS: Final = ("session_id", "device_id", "channel", "t_utc", "value", "quality", "flags", "device_t")


class _BulkInsert:
    """A Core ``insert(table)`` compiled once for the dialect and run as one DBAPI ``executemany`` in
    the session's transaction. ``session.execute(insert(table), dicts)`` spends about half its time
    re-processing every row's parameters, which plain numbers and text do not need (bench_ingest)."""

    def __init__(self, table: Table, columns: tuple[str, ...], dialect: Dialect) -> None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns), for_executemany=True)
        self._sql = compiled.string
        self._columns = columns
        self._positional = compiled.positional
        if self._positional and tuple(compiled.positiontup or ()) != columns:
            raise RuntimeError(f"compiled INSERT binds {compiled.positiontup}, expected {columns}")

    def execute(self, s: Session, rows: list[tuple[Any, ...]]) -> None:
        params: list[Any] = rows if self._positional else [dict(zip(self._columns, row, strict=True)) for row in rows]
        s.connection().exec_driver_sql(self._sql, params)


def _environmental(exc: BaseException) -> bool:
    """Database trouble the user can fix (locked, full, I/O, connection lost), as opposed to a bug."""
    if isinstance(exc, sa_exc.OperationalError | OSError):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    # sqlite3 reports a corrupt file as a bare DatabaseError (not one of its subclasses)
    return type(exc) is sa_exc.DatabaseError


def _job_failure_message(what: str, db_name: str, exc: BaseException) -> str:
    reason = failure_reason(exc)
    if "locked" in reason:
        advice = "close the other program (another Session Monitor?) and retry"
    elif "full" in reason:
        advice = "free disk space and retry"
    else:
        advice = "check the database and retry"
    return f"Could not save {what} to {db_name}: {reason}: {advice}"


def _event_row(session_id: int, event: SessionEvent) -> dict[str, Any]:
    """Serialise now, in the caller's thread, so a value JSON cannot hold fails where it was made."""
    return {
        "session_id": session_id,
        "t_utc": event.t,
        "kind": event.kind.value,
        "source": event.source,
        "data": json.dumps(_jsonable(event.data), ensure_ascii=False, allow_nan=False, sort_keys=True),
        "recorded_utc": time.time(),
    }


def _jsonable(value: Any) -> Any:
    """Plain JSON types: enums by value, numpy scalars as numbers, NaN/inf as null, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
