"""Session sign-off (clinical.md requirement 29; 21 CFR 11.50 / 11.70 / 11.200).

A signature is a row in ``signatures``: the signer's login and printed name, the meaning, the time and
the SHA-256 of the session's record *as it was when signed*. The record is hashed in one canonical
form (``canonical_record``), so a signature is valid exactly while the stored hash equals the hash of
the record now: any later reading, event, observation, amendment or alarm-log entry makes it
"outdated", and that is shown, never hidden. Signatures are append-only: re-signing adds a row.

Credentials are a login ID plus a password checked against a salted PBKDF2-HMAC-SHA256 hash kept in
the ``signers`` table of the same database. This is a local signer list, **not** a directory
(LDAP / Active Directory) login, and it protects only as well as the database file is protected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, func, insert, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from monitor.errors import KnownError, StorageError
from monitor.report_data import SignatureLine
from recordings.database import Database, failure_reason
from recordings.models import (
    devices_table,
    events_table,
    readings_table,
    sessions_table,
    signatures_table,
    signers_table,
    waveform_chunks_table,
)

#: The meanings a signature may carry (11.50(a)(3)).
MEANINGS: tuple[str, ...] = ("reviewed", "performed monitoring", "approved")
#: Version tag of the canonical form; change it (never the form under it) if the form ever changes.
CANONICAL_FORMAT = "session-monitor-record/1"
DEFAULT_PBKDF2_ITERATIONS = 600_000
MIN_PASSWORD_LENGTH = 8
_ROWS_PER_FETCH = 10_000


class SignOffRefused(KnownError):
    """A signature was refused (wrong credentials, unknown session, session still recording, ...)."""


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    """One stored signature and whether the record still matches what was signed."""

    id: int
    session_id: int
    signer_login: str
    signer_name: str  # printed name (11.50)
    meaning: str
    signed_utc: float
    record_hash: str
    valid: bool  # stored hash == hash of the record now

    @property
    def state(self) -> str:
        """``"valid"`` or ``"outdated"`` (the record changed after signing)."""
        return "valid" if self.valid else "outdated"

    def line(self) -> str:
        """The human-readable signature line: printed name, date/time (UTC), meaning, validity."""
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.signed_utc))
        text = f"Signed by {self.signer_name} ({self.signer_login}), {when}, meaning: {self.meaning}"
        return text + (" — valid" if self.valid else " — OUTDATED: the record changed after signing")


# ---- the canonical record -------------------------------------------------------------------


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


def canonical_record(conn: Connection | Session, session_id: int) -> Iterator[bytes]:
    """The session's record in canonical form: JSON lines (sorted keys, compact, ASCII, floats by
    ``repr``), in this order: a format line; the session row; its devices by source; readings by
    (time, id); waveform chunks by (start, id) with the SHA-256 of their sample bytes; events (dose,
    observations, amendments, alarm log, notes, ...) by (time, id) with their JSON data re-serialised
    canonically. Database ids are left out, so a copied database hashes the same. Signatures are
    not part of the record. Raises ``LookupError`` for an unknown session."""
    s, d, r, w, e = sessions_table.c, devices_table.c, readings_table.c, waveform_chunks_table.c, events_table.c
    row = conn.execute(
        select(
            s.patient_id, s.protocol, s.clinician, s.started_utc, s.t0_utc, s.ended_utc, s.end_reason, s.speed,
            s.app_version, s.created_utc,
        ).where(s.id == session_id)
    ).first()  # fmt: skip
    if row is None:
        raise LookupError(session_id)
    yield _dump({"format": CANONICAL_FORMAT, "session_id": session_id})
    yield _dump({"session": dict(row._mapping)})
    for dev in conn.execute(
        select(d.source, d.label, d.kind, d.stale_after_s).where(d.session_id == session_id).order_by(d.source)
    ):
        yield _dump({"device": dict(dev._mapping)})
    opts = {"yield_per": _ROWS_PER_FETCH}
    readings = (
        select(d.source, r.channel, r.t_utc, r.value, r.quality, r.flags, r.device_t)
        .join_from(readings_table, devices_table, r.device_id == d.id)
        .where(r.session_id == session_id)
        .order_by(r.t_utc, r.id)
    )
    for rd in conn.execute(readings, execution_options=opts):
        yield _dump({"r": list(rd)})
    chunks = (
        select(d.source, w.channel, w.t0_utc, w.fs, w.n, w.dtype, w.data)
        .join_from(waveform_chunks_table, devices_table, w.device_id == d.id)
        .where(w.session_id == session_id)
        .order_by(w.t0_utc, w.id)
    )
    for ch in conn.execute(chunks, execution_options=opts):
        yield _dump({"w": [*ch[:6], hashlib.sha256(bytes(ch.data)).hexdigest()]})
    events = select(e.t_utc, e.kind, e.source, e.data, e.recorded_utc).where(e.session_id == session_id).order_by(e.t_utc, e.id)
    for ev in conn.execute(events, execution_options=opts):
        yield _dump({"e": [ev.t_utc, ev.kind, ev.source, json.loads(ev.data), ev.recorded_utc]})


def _record_hash(conn: Connection | Session, session_id: int) -> str:
    digest = hashlib.sha256()
    for line in canonical_record(conn, session_id):
        digest.update(line)
    return digest.hexdigest()


def record_hash(db: Database, session_id: int) -> str:
    """Hex SHA-256 of ``canonical_record`` for the session as stored now."""
    with _reading(db) as s:
        try:
            return _record_hash(s, session_id)
        except LookupError:
            raise SignOffRefused(_unknown_session(db, session_id, s)) from None


# ---- signers --------------------------------------------------------------------------------


def _pbkdf2(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def add_signer(db: Database, login: str, full_name: str, password: str, *, iterations: int | None = None) -> None:
    """Enrol a signer (login ID, printed name, password); refuses a login that already exists."""
    iterations = iterations or DEFAULT_PBKDF2_ITERATIONS
    login, full_name = login.strip(), full_name.strip()
    if not login or not full_name:
        raise SignOffRefused("a signer needs a login ID and a printed name")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SignOffRefused(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    salt = os.urandom(16)
    row = {
        "login": login,
        "full_name": full_name,
        "salt": salt,
        "iterations": iterations,
        "password_hash": _pbkdf2(password, salt, iterations),
        "created_utc": time.time(),
    }
    with _writing(db) as s:
        if s.execute(select(signers_table.c.id).where(signers_table.c.login == login)).first() is not None:
            raise SignOffRefused(f"signer {login!r} is already enrolled in {db.name}")
        s.execute(insert(signers_table).values(**row))


def _check_credentials(s: Session, login: str, password: str) -> str:
    """The signer's printed name if ``password`` is theirs; one message for unknown ID and wrong password."""
    c = signers_table.c
    row = s.execute(select(c.full_name, c.salt, c.iterations, c.password_hash).where(c.login == login)).first()
    if row is None:
        _pbkdf2(password, b"\0" * 16, DEFAULT_PBKDF2_ITERATIONS)  # same work either way: no hint which was wrong
        raise SignOffRefused("unknown signer ID or wrong password: nothing was signed")
    if not hmac.compare_digest(_pbkdf2(password, bytes(row.salt), int(row.iterations)), bytes(row.password_hash)):
        raise SignOffRefused("unknown signer ID or wrong password: nothing was signed")
    return str(row.full_name)


# ---- signing and checking -------------------------------------------------------------------


def sign_session(
    db: Database, session_id: int, name: str, password: str, meaning: str = "reviewed", *, interrupted_ok: bool = False
) -> SignatureStatus:
    """Sign session ``session_id`` as signer ``name`` (login ID) with ``meaning``. Refuses an unknown
    session, an unknown meaning and wrong credentials, and a session with no end unless
    ``interrupted_ok``: a session cut short by a crash has no end, and neither has one still being
    recorded at a bedside, which the signer must rule out (were it still recording, the signature
    would show as outdated with its next reading).

    The credentials are checked and the record hashed in one read transaction (one consistent
    snapshot; slow on purpose for PBKDF2, so no write lock is held meanwhile); the signature row is
    then written in a short write transaction. Should the record change in between, the new
    signature shows as outdated at once: it is never valid for a record it did not see."""
    if meaning not in MEANINGS:
        raise SignOffRefused(f"meaning {meaning!r} is not one of: " + ", ".join(repr(m) for m in MEANINGS))
    login = name.strip()
    with _reading(db) as s:
        ended = s.execute(select(sessions_table.c.ended_utc).where(sessions_table.c.id == session_id)).first()
        if ended is None:
            raise SignOffRefused(_unknown_session(db, session_id, s))
        if ended.ended_utc is None and not interrupted_ok:
            raise SignOffRefused(
                f"session {session_id} has no end: it is still being recorded, or it was cut short by a crash. "
                "End it at the bedside first; if it was interrupted, confirm that and sign it as interrupted"
            )
        full_name = _check_credentials(s, login, password)
        digest = _record_hash(s, session_id)
    signed = SignatureStatus(0, session_id, login, full_name, meaning, time.time(), digest, valid=True)
    row = {k: v for k, v in asdict(signed).items() if k not in ("id", "valid")}
    with _writing(db) as s:
        key = cast(CursorResult[Any], s.execute(insert(signatures_table).values(**row))).inserted_primary_key
        if key is None:
            raise RuntimeError("the database returned no id for the signature")
    return replace(signed, id=int(key[0]))


def signature_status(db: Database, session_id: int) -> list[SignatureStatus]:
    """Every signature of the session, oldest first, each marked valid or outdated against the record now."""
    c = signatures_table.c
    with _reading(db) as s:
        rows = s.execute(
            select(c.id, c.session_id, c.signer_login, c.signer_name, c.meaning, c.signed_utc, c.record_hash)
            .where(c.session_id == session_id)
            .order_by(c.signed_utc, c.id)
        ).all()
        if not rows:
            return []
        current = _record_hash(s, session_id)
    return [
        SignatureStatus(
            int(r.id), int(r.session_id), r.signer_login, r.signer_name, r.meaning, float(r.signed_utc), r.record_hash,
            hmac.compare_digest(r.record_hash, current),
        )
        for r in rows
    ]  # fmt: skip


# ---- transactions ---------------------------------------------------------------------------


def _unknown_session(db: Database, session_id: int, s: Session) -> str:
    lo, hi = s.execute(select(func.min(sessions_table.c.id), func.max(sessions_table.c.id))).one()
    known = f"it has sessions {lo}-{hi}" if lo is not None else "it has no sessions"
    return f"no session {session_id} in {db.name} ({known}): nothing was signed"


@contextmanager
def _transaction(db: Database, write: bool) -> Iterator[Session]:
    """One short transaction (the write one takes the write lock at BEGIN); database failures become one ``StorageError``."""
    maker = db.writer_sessions if write else db.sessions
    try:
        with maker.begin() as s:
            yield s
    except sa_exc.DBAPIError as exc:
        verb = "write the signature to" if write else "read"
        raise StorageError(f"Could not {verb} {db.name}: {failure_reason(exc)}: check the database and retry") from exc


def _writing(db: Database) -> AbstractContextManager[Session]:
    return _transaction(db, write=True)


def _reading(db: Database) -> AbstractContextManager[Session]:
    return _transaction(db, write=False)


class DatabaseSignOff:
    """``monitor.ports.SignOff`` for the review window: signatures of one database as printable lines."""

    meanings = MEANINGS

    def __init__(self, db: Database) -> None:
        self._db = db

    def signatures(self, session_id: int) -> list[SignatureLine]:
        return [SignatureLine(s.line(), s.valid) for s in signature_status(self._db, session_id)]

    def sign(self, session_id: int, login: str, password: str, meaning: str, *, interrupted_ok: bool = False) -> SignatureLine:
        sig = sign_session(self._db, session_id, login, password, meaning, interrupted_ok=interrupted_ok)
        return SignatureLine(sig.line(), sig.valid)
