"""The recording schema: SQLAlchemy 2.0 typed models, one table per kind of record.

Times are float UTC epoch seconds everywhere (``*_utc``), as in ``monitor``. Numerics are one row per
reading; waveforms are ~1 s chunks of raw little-endian samples. Rows never leave ``recordings/``:
readers convert them to the frozen dataclasses of ``monitor`` first.

The schema is created and changed only by Alembic migrations (``recordings/migrations``); a test
checks that the models and the migrations agree.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Deterministic constraint names, so Alembic batch migrations on SQLite can find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids on PostgreSQL (years of readings); on SQLite only ``INTEGER PRIMARY KEY`` is the fast rowid alias.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SessionRow(Base):
    """One dosing session; t0/ended are filled in as the session goes on (clinician input)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))  # the clinic's pseudonym, never a name
    protocol: Mapped[str] = mapped_column(String(32))  # monitor.session.DosingProtocol value
    clinician: Mapped[str] = mapped_column(String(128))
    started_utc: Mapped[float] = mapped_column(Float)
    t0_utc: Mapped[float | None] = mapped_column(Float)  # first dose
    ended_utc: Mapped[float | None] = mapped_column(Float)
    end_reason: Mapped[str | None] = mapped_column(String(64))
    speed: Mapped[float] = mapped_column(Float)  # session seconds per real second: 1.0 = real time
    app_version: Mapped[str] = mapped_column(String(32))
    created_utc: Mapped[float] = mapped_column(Float)  # wall clock when the row was written


class DeviceRow(Base):
    """A device as it was registered in one session; readings point here instead of repeating the source."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("session_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    source: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    stale_after_s: Mapped[float] = mapped_column(Float)


class ReadingRow(Base):
    """One numeric value; ``value`` is NULL when the device gave none (NaN / INVALID)."""

    __tablename__ = "readings"
    __table_args__ = (Index("ix_readings_session_channel_t", "session_id", "channel", "t_utc"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    channel: Mapped[str] = mapped_column(String(16))  # monitor.channels code
    t_utc: Mapped[float] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(Integer)  # monitor.readings.Quality
    flags: Mapped[int] = mapped_column(Integer)  # monitor.readings.Flag bit set
    device_t: Mapped[float | None] = mapped_column(Float)


class WaveformChunkRow(Base):
    """About one second of one waveform channel: sample i was taken at ``t0_utc + i / fs``; NaN = gap."""

    __tablename__ = "waveform_chunks"
    __table_args__ = (Index("ix_waveform_chunks_session_channel_t0", "session_id", "channel", "t0_utc"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    channel: Mapped[str] = mapped_column(String(16))
    t0_utc: Mapped[float] = mapped_column(Float)
    fs: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    dtype: Mapped[str] = mapped_column(String(8))  # numpy dtype string, little-endian: "<f4"
    data: Mapped[bytes] = mapped_column(LargeBinary)


class EventRow(Base):
    """A session event (dose, start, end, device link change, technical notice, note)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_session_t", "session_id", "t_utc"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    t_utc: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))  # monitor.events.EventKind value
    source: Mapped[str] = mapped_column(String(128))
    data: Mapped[str] = mapped_column(Text)  # JSON object
    recorded_utc: Mapped[float] = mapped_column(Float)  # wall clock when the event was queued for writing


class SignerRow(Base):
    """Someone who may sign sessions: a login ID and a salted PBKDF2-SHA256 password hash (local, not a directory login)."""

    __tablename__ = "signers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(128))  # the printed name shown with each signature
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    iterations: Mapped[int] = mapped_column(Integer)
    password_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_utc: Mapped[float] = mapped_column(Float)


class SignatureRow(Base):
    """One sign-off of a session (append-only): who, when, what it means, and the hash of the record signed."""

    __tablename__ = "signatures"
    __table_args__ = (Index("ix_signatures_session", "session_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    signer_login: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str] = mapped_column(String(128))  # printed name at the time of signing
    meaning: Mapped[str] = mapped_column(String(32))  # "reviewed", "performed monitoring", "approved"
    signed_utc: Mapped[float] = mapped_column(Float)
    record_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of recordings.signoff.canonical_record()


#: The Core tables, for bulk ``insert(table)`` executemany (no ORM objects on the hot path).
sessions_table: Table = Base.metadata.tables["sessions"]
devices_table: Table = Base.metadata.tables["devices"]
readings_table: Table = Base.metadata.tables["readings"]
waveform_chunks_table: Table = Base.metadata.tables["waveform_chunks"]
events_table: Table = Base.metadata.tables["events"]
signers_table: Table = Base.metadata.tables["signers"]
signatures_table: Table = Base.metadata.tables["signatures"]
