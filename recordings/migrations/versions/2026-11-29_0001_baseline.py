"""baseline: sessions, devices, readings, waveform chunks, events

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Self-contained on purpose (no import of recordings.models): a migration must keep producing the
schema of its day even after the models have moved on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: 64-bit ids on PostgreSQL; plain INTEGER PRIMARY KEY (the rowid) on SQLite.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("clinician", sa.String(length=128), nullable=False),
        sa.Column("started_utc", sa.Float(), nullable=False),
        sa.Column("t0_utc", sa.Float(), nullable=True),
        sa.Column("ended_utc", sa.Float(), nullable=True),
        sa.Column("end_reason", sa.String(length=64), nullable=True),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("app_version", sa.String(length=32), nullable=False),
        sa.Column("created_utc", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("stale_after_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_devices_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("session_id", "source", name=op.f("uq_devices_session_id_source")),
    )
    op.create_table(
        "readings",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("t_utc", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("device_t", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_readings_device_id_devices")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_readings_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
    )
    op.create_index("ix_readings_session_channel_t", "readings", ["session_id", "channel", "t_utc"])
    op.create_table(
        "waveform_chunks",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("t0_utc", sa.Float(), nullable=False),
        sa.Column("fs", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("dtype", sa.String(length=8), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_waveform_chunks_device_id_devices")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_waveform_chunks_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waveform_chunks")),
    )
    op.create_index("ix_waveform_chunks_session_channel_t0", "waveform_chunks", ["session_id", "channel", "t0_utc"])
    op.create_table(
        "events",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("t_utc", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("recorded_utc", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_events_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_session_t", "events", ["session_id", "t_utc"])


def downgrade() -> None:
    op.drop_index("ix_events_session_t", table_name="events")
    op.drop_table("events")
    op.drop_index("ix_waveform_chunks_session_channel_t0", table_name="waveform_chunks")
    op.drop_table("waveform_chunks")
    op.drop_index("ix_readings_session_channel_t", table_name="readings")
    op.drop_table("readings")
    op.drop_table("devices")
    op.drop_table("sessions")
