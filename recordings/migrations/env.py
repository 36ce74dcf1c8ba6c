"""Alembic environment for the recordings schema.

Used two ways:

* at start-up by ``recordings.database.open_database``, which builds the Alembic ``Config`` in code and
  passes its open connection in ``config.attributes["connection"]`` (one transaction, committed by the
  caller);
* by developers from the repository root with ``alembic.ini``, e.g.
  ``alembic -x db=sqlite:///dev-sessions.db revision --autogenerate -m "add notes"``.

``render_as_batch`` because SQLite cannot ALTER most things in place: Alembic then copies the table.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from recordings.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    """``-x db=URL`` on the command line wins over ``sqlalchemy.url`` in alembic.ini."""
    url = context.get_x_argument(as_dictionary=True).get("db") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: pass -x db=sqlite:///PATH (or set sqlalchemy.url in alembic.ini)")
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
