"""``--replay-session``: play a recorded session back through the live dashboard.

Why: a prescriber or a tester wants to watch what the nurse saw (why did this alarm fire?), or demo
and test with a real recorded session. The devices come back as ``RecordedSessionDriver``s (one per
recorded device, sources prefixed ``replay:``); this module adds what is not a device's business:

* ``SessionReplay`` opens the source database read-only in spirit: the replayed session is a new
  live session recorded into ``--db`` or a throw-away SQLite file in a temporary folder removed at
  exit, never into the source database (a replay must never add sessions to the clinical record).
* ``TimelinePlayer`` replays the clinical timeline through the core's public API at the mapped
  times, as the nurse entered it: the dose (so the T+ clock and the schedule prompts are right),
  observations and their amendments (manual vitals come back as readings with them), alarm-limit
  changes, the nurse's alarm actions (acknowledge, pause, resume, crisis symptoms) and the end of
  the session. Alarms themselves are not replayed: the core's alarm engine raises them again from
  the replayed readings, which is the point. It is Qt-free and driven by the controller's timer.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from devices.replay.recorded import RecordedSessionDriver, recorded_session_drivers
from monitor.alarms import AlarmPriority, Inactivation, Role, Transition
from monitor.clock import Clock
from monitor.core import MANUAL_SOURCE, Core
from monitor.errors import ConfigError, KnownError, StorageError
from monitor.events import EventKind, SessionEvent
from monitor.observations import Observation, ObsKind
from recordings.database import Database, open_database
from recordings.reader import RecordingReader, SessionRecord

log = logging.getLogger(__name__)

#: The replay speeds the command line offers (issue 7: 1x-60x).
MIN_SPEED, MAX_SPEED = 1.0, 60.0
#: A timeline entry the core refuses (e.g. the dose gate still waiting for a pre-dose BP the core
#: has not ingested yet) is retried this long in real time before it is skipped with a warning.
RETRY_REAL_S = 3.0
#: The recorded end is replayed this long (real time) after its mapped time, so the devices' last
#: data reaches the core and the replay's recording before the session closes.
END_GRACE_REAL_S = 0.5


def _sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None for other databases or URLs SQLAlchemy cannot parse)."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().absolute()


def _same_database(a: str, b: str) -> bool:
    fa, fb = _sqlite_file(a), _sqlite_file(b)
    if fa is not None or fb is not None:
        return fa is not None and fb is not None and fa.resolve() == fb.resolve()
    return a.strip() == b.strip()


@dataclass(eq=False)
class SessionReplay:
    """A recorded session opened for replay, and where the replay is recorded."""

    source: Database
    reader: RecordingReader
    record: SessionRecord
    target_url: str
    tmpdir: Path | None  # the throw-away folder of the replay's own database, removed by close()

    @property
    def session_id(self) -> int:
        return self.record.id

    def drivers(self, clock: Clock, start_at: float) -> list[RecordedSessionDriver]:
        """One driver per recorded device, the recorded start mapped to ``start_at``. Manual
        entries are left out: they come back with the replayed observations."""
        devices = [d.info() for d in self.reader.devices(self.record.id)]
        return recorded_session_drivers(
            self.reader,
            self.record.id,
            devices,
            clock,
            start_at=start_at,
            end=self._end(),
            skip_sources=frozenset({MANUAL_SOURCE}),
        )

    def timeline(self, core: Core, start_at: float) -> TimelinePlayer:
        return TimelinePlayer(core, self.reader.events(self.record.id), start_at - self.record.started)

    def _end(self) -> float | None:
        """The recorded end; for an interrupted session, the last recorded event (the drivers read
        what follows it in one open-ended window)."""
        if self.record.ended is not None:
            return self.record.ended
        events = self.reader.events(self.record.id)
        return max((e.t for e in events), default=self.record.started)

    def close(self) -> None:
        """Close the source database and remove the throw-away folder (after the pipeline closed)."""
        self.source.close()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


def open_session_replay(ref: str, from_db: str | None, to_db: str | None) -> SessionReplay:
    """Find session ``ref`` (an id or "latest") in ``from_db`` (default: the workstation's database)
    and decide where the replay is recorded. Raises ``KnownError`` with one clear line; nothing is
    started and no file is created when it does."""
    from recordings.database import default_db_url

    source_url = from_db or default_db_url()
    path = _sqlite_file(source_url)
    if path is not None and not path.is_file():
        raise StorageError(
            f"no recordings database at {path}: give the database the session was recorded in with --from-db sqlite:///PATH"
        )
    if to_db is not None and _same_database(source_url, to_db):
        raise ConfigError(
            "--db must not be the database the session is replayed from: a replay never adds sessions to the clinical record "
            "(leave --db out to record the replay in a temporary file)"
        )
    source = open_database(source_url)
    try:
        reader = RecordingReader(source)
        record = reader.session(ref)
        if not reader.devices(record.id):
            raise StorageError(f"session {record.id} in {source.name} has no recorded devices: there is nothing to replay")
    except BaseException:
        source.close()
        raise
    tmpdir = None
    if to_db is None:
        tmpdir = Path(tempfile.mkdtemp(prefix="session-monitor-replay-"))
        to_db = f"sqlite:///{tmpdir / 'replay.db'}"
    log.info("replaying session %s of %s into %s", record.id, source.name, to_db)
    return SessionReplay(source, reader, record, to_db, tmpdir)


class TimelinePlayer:
    """Replays the recorded clinical timeline through the core's public API as the session clock
    passes each entry (``offset_s`` added to every recorded time). Call ``step(now)`` from the thread
    that owns the clinician input (the GUI thread's control timer); it never blocks for long.

    Entries happen in recorded order. One the core refuses (``ValueError``: observation or setting
    refused) is retried for ``RETRY_REAL_S`` and then skipped with a warning, listed in ``skipped``.
    """

    def __init__(self, core: Core, events: list[SessionEvent], offset_s: float) -> None:
        self._core = core
        self._offset = offset_s
        self._events = [e for e in events if _replayable(e)]
        self._next = 0
        self._obs_ids: dict[str, str] = {}  # recorded obs_id -> replayed obs_id (amendments name originals)
        self._retry_until: float | None = None
        self.replayed: list[SessionEvent] = []
        self.skipped: list[tuple[SessionEvent, str]] = []

    @property
    def done(self) -> bool:
        return self._next >= len(self._events)

    def step(self, now: float) -> None:
        while self._next < len(self._events):
            event = self._events[self._next]
            t = event.t + self._offset
            if t > now or (event.kind is EventKind.SESSION_ENDED and t + END_GRACE_REAL_S * self._core.clock.speed > now):
                return
            session = self._core.session
            if session is not None and session.info.ended is not None:  # e.g. ended by a replayed discharge
                if event.kind is not EventKind.SESSION_ENDED:
                    self.skipped.append((event, "the replayed session has already ended"))
                self._next += 1
                continue
            try:
                self._apply(event, t)
            except (KeyError, TypeError) as exc:  # an entry this version cannot read: never guessed at
                log.warning("replay: the recorded %s is not readable: %r", event.kind.value, exc)
                self.skipped.append((event, f"not readable: {exc!r}"))
            except (ValueError, KnownError) as exc:
                if self._retry_until is None:
                    self._retry_until = time.monotonic() + RETRY_REAL_S
                if time.monotonic() < self._retry_until:
                    return  # e.g. the pre-dose BP is still on its way into the core: try again next tick
                log.warning("replay: the recorded %s could not be replayed: %s", event.kind.value, exc)
                self.skipped.append((event, str(exc)))
            else:
                self.replayed.append(event)
            self._retry_until = None
            self._next += 1

    def _apply(self, e: SessionEvent, t: float) -> None:
        core = self._core
        session = core.session
        if session is None or session.info.ended is not None:
            raise ValueError("the replayed session is not running")
        user = _user(e)
        if e.kind is EventKind.DOSE_GIVEN:
            if session.info.t0 is None:  # else a replayed dose observation has set it already
                core.mark_dose(t, user=user)
        elif e.kind in (EventKind.OBSERVATION, EventKind.AMENDMENT):
            self._observation(e, t)
        elif e.kind is EventKind.ALARM_SETTING:
            data = e.data
            field = str(data["field"])
            value: Any = AlarmPriority[data["new"]] if field == "priority" else data["new"]
            core.alarms.change_rule(
                str(data["rule"]), field, value, user or session.info.clinician, Role(data.get("role", "operator"))
            )
        elif e.kind is EventKind.ALARM:
            self._alarm_action(e, t, user)
        elif e.kind is EventKind.SESSION_ENDED:
            core.end_session(str(e.data.get("reason", "ended")), user=user)

    def _observation(self, e: SessionEvent, t: float) -> None:
        obs = Observation.from_record(t, e.data)
        data = dict(obs.data)
        if obs.kind is ObsKind.DOSE:
            data.pop("warnings", None)  # recomputed by the core
        amends = None
        if obs.amends is not None:
            amends = self._obs_ids.get(obs.amends)
            if amends is None:
                raise ValueError("it amends an observation that was not replayed")
        new_id = uuid.uuid4().hex
        self._core.record_observation(replace(obs, data=data, obs_id=new_id, amends=amends))
        self._obs_ids[obs.obs_id] = new_id

    def _alarm_action(self, e: SessionEvent, t: float, user: str) -> None:
        core, data = self._core, e.data
        transition = Transition(data["transition"])
        if transition is Transition.ACKNOWLEDGED:
            core.alarms.acknowledge(user, str(data["key"]) or None)
        elif transition is Transition.PAUSED:
            until = data.get("until")
            core.alarms.inactivate(Inactivation(data["state"]), user, None if until is None else max(1.0, float(until) - e.t))
        elif transition is Transition.RESUMED:
            core.alarms.resume(user)
        elif transition is Transition.SYMPTOMS:
            core.alarms.set_crisis_symptoms(set(data.get("symptoms", [])), user)


_OPERATOR_ACTIONS = {Transition.ACKNOWLEDGED.value, Transition.PAUSED.value, Transition.SYMPTOMS.value}


def _replayable(e: SessionEvent) -> bool:
    """The clinician's entries. Not replayed: what the program itself produced (session start,
    device status, technical notices, alarms raised / cleared by the engine, the automatic resume
    at the end of a pause), which the replay produces again, and the workstation's HR-limit
    confirmation (a workstation setting, not part of the session)."""
    if e.kind in (EventKind.DOSE_GIVEN, EventKind.OBSERVATION, EventKind.AMENDMENT, EventKind.SESSION_ENDED):
        return True
    if e.kind is EventKind.ALARM_SETTING:
        return "rule" in e.data and "field" in e.data
    if e.kind is EventKind.ALARM and e.data.get("user"):
        transition = e.data.get("transition")
        if transition == Transition.RESUMED.value:
            return e.data.get("reason", "operator") == "operator"
        return transition in _OPERATOR_ACTIONS
    return False


def _user(e: SessionEvent) -> str:
    if e.kind is EventKind.ALARM:
        return str(e.data.get("user", ""))
    return e.source.removeprefix("user:") if e.source.startswith("user:") else ""
