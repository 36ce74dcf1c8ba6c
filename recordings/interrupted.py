"""Sessions a previous run left without an end (SIGKILL, power loss): found at start-up, closed
with end reason ``interrupted`` at the time of their last reading, and described in one line so
the program can say so on stderr and on the dashboard (issue 13, finding 6)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Final

from sqlalchemy import exc as sa_exc
from sqlalchemy import exists, func, insert, select, update

from monitor.errors import StorageError
from monitor.events import EventKind
from recordings.database import Database, failure_reason
from recordings.models import events_table, readings_table, sessions_table, signatures_table, waveform_chunks_table

log = logging.getLogger(__name__)

#: The end reason of a session whose program stopped without ending it.
INTERRUPTED: Final = "interrupted"


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


@dataclass(frozen=True, slots=True)
class InterruptedSession:
    session_id: int
    patient_id: str
    started: float
    stopped: float  # session time of the last thing recorded (reading, waveform, event)
    last_reading: float | None  # session time of the last numeric reading, None if there was none

    @property
    def ended(self) -> float:
        """The end recorded for it: its last reading (its start if it recorded none)."""
        return self.last_reading if self.last_reading is not None else self.started

    def message(self) -> str:
        last = _when(self.last_reading) if self.last_reading is not None else "none"
        return (
            f"Session {self.session_id} (patient {self.patient_id}, started {_when(self.started)}) did not end — "
            f"the program stopped at {_when(self.stopped)} (last reading {last}). Marked interrupted."
        )


def close_interrupted_sessions(db: Database) -> list[InterruptedSession]:
    """Mark every session without an end as interrupted, in one transaction. A session somebody
    already signed as cut short is left as signed (changing it would break its signature)."""
    found: list[InterruptedSession] = []
    signed = exists().where(signatures_table.c.session_id == sessions_table.c.id)
    try:
        with db.writer_sessions.begin() as s:
            rows = s.execute(
                select(sessions_table.c.id, sessions_table.c.patient_id, sessions_table.c.started_utc)
                .where(sessions_table.c.ended_utc.is_(None), ~signed)
                .order_by(sessions_table.c.id)
            ).all()
            for sid, patient, started in rows:
                last_reading = s.scalar(select(func.max(readings_table.c.t_utc)).where(readings_table.c.session_id == sid))
                last_wave = s.scalar(
                    select(
                        func.max(waveform_chunks_table.c.t0_utc + waveform_chunks_table.c.n / waveform_chunks_table.c.fs)
                    ).where(waveform_chunks_table.c.session_id == sid)
                )
                last_event = s.scalar(select(func.max(events_table.c.t_utc)).where(events_table.c.session_id == sid))
                stopped = max(t for t in (started, last_reading, last_wave, last_event) if t is not None)
                item = InterruptedSession(int(sid), str(patient), float(started), float(stopped), last_reading)
                s.execute(
                    update(sessions_table)
                    .where(sessions_table.c.id == sid, sessions_table.c.ended_utc.is_(None))
                    .values(ended_utc=item.ended, end_reason=INTERRUPTED)
                )
                data = {"reason": INTERRUPTED, "stopped_utc": item.stopped}
                s.execute(
                    insert(events_table).values(
                        session_id=sid,
                        t_utc=item.ended,
                        kind=EventKind.SESSION_ENDED.value,
                        source="app",
                        data=json.dumps(data, sort_keys=True),
                        recorded_utc=time.time(),
                    )
                )
                found.append(item)
    except sa_exc.DBAPIError as exc:
        raise StorageError(
            f"Could not close the sessions a previous run left open in {db.name} ({failure_reason(exc)}): "
            "check the database and retry"
        ) from exc
    for item in found:
        log.warning("%s", item.message())
    return found
