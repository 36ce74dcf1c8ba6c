"""signatures: signers (ID + salted password hash) and session sign-offs bound to a record hash

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Self-contained on purpose (no import of recordings.models), like 0001. Adds tables only: the
recorded data of older sessions is untouched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: 64-bit ids on PostgreSQL; plain INTEGER PRIMARY KEY (the rowid) on SQLite.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=128), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_utc", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signers")),
        sa.UniqueConstraint("login", name=op.f("uq_signers_login")),
    )
    op.create_table(
        "signatures",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("signer_login", sa.String(length=64), nullable=False),
        sa.Column("signer_name", sa.String(length=128), nullable=False),
        sa.Column("meaning", sa.String(length=32), nullable=False),
        sa.Column("signed_utc", sa.Float(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_signatures_session_id_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index("ix_signatures_session", ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_signatures_session")
    op.drop_table("signatures")
    op.drop_table("signers")
