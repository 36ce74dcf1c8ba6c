"""Opening the recordings database: find or create it, check it, back it up, migrate it.

Everything that can go wrong here is the environment (a folder we may not write, a corrupt or locked
file, a PostgreSQL server that is down), so every failure becomes one ``StorageError`` whose message
names the file and says what to do. A user's file is never deleted or overwritten: before a schema
upgrade the SQLite file is copied aside, and a file that is not ours is refused untouched.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from platformdirs import user_data_dir
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import StorageError

log = logging.getLogger(__name__)

APP_NAME = "session-monitor"
DB_FILE_NAME = "sessions.db"
#: Where the Alembic scripts live inside the installed package (a module global so tests can swap it).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_BUSY_TIMEOUT_MS = 2000
PG_CONNECT_TIMEOUT_S = 5
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Execution option that makes the SQLite ``begin`` hook take the write lock at BEGIN (writer only).
_IMMEDIATE = "session_monitor_begin_immediate"


@dataclass(eq=False)
class Database:
    """An open, migrated database. ``writer_sessions`` is for the recorder thread only."""

    url: URL
    engine: Engine
    sessions: sessionmaker[Session]
    writer_sessions: sessionmaker[Session]
    path: Path | None  # the SQLite file; None for a server database
    revision: str | None
    backup: Path | None = None  # the copy made before this open upgraded the schema

    @property
    def name(self) -> str:
        """How messages name this database: the file path, or the URL without its password."""
        return str(self.path) if self.path is not None else self.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


# ---- messages ---------------------------------------------------------------------------------


def failure_reason(exc: BaseException) -> str:
    """A short, user-facing reason for an environmental database failure ("disk full", ...)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    text = lines[0] if lines else type(orig).__name__
    low = text.lower()
    if "locked" in low or "busy" in low:
        return "the database is locked by another program"
    if "full" in low:
        return "the disk is full"
    if "not a database" in low or "malformed" in low or "encrypted" in low:
        return "the database file is corrupt"
    if "readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low:
        return "the database file cannot be written"
    if "i/o" in low:
        return "disk I/O error"
    return text


def locked_message(name: str) -> str:
    return f"Database {name} is locked by another program (another Session Monitor?): close it and retry"


def corrupt_message(name: str) -> str:
    return f"Database {name} is not a SQLite database (corrupt?): move it aside or restore the backup; nothing was changed"


def unwritable_message(where: str, reason: str) -> str:
    return f"{where} is not writable ({reason}): choose another with --db sqlite:///PATH or fix the permissions"


def _sqlite_error(exc: BaseException, path: Path) -> StorageError:
    """Translate a sqlite3 failure on ``path`` into the one message the user needs."""
    reason = failure_reason(exc)
    if reason == "the database is locked by another program":
        return StorageError(locked_message(str(path)))
    if reason == "the database file is corrupt":
        return StorageError(corrupt_message(str(path)))
    if reason == "the database file cannot be written":
        return StorageError(unwritable_message(f"Database {path}", reason))
    if reason == "the disk is full":
        return StorageError(f"Database {path} cannot be written: the disk is full: free disk space and retry")
    return StorageError(f"Cannot use database {path}: {reason}: check the file, or choose another with --db sqlite:///PATH")


# ---- public entry points ----------------------------------------------------------------------


def default_db_url() -> str:
    """``sqlite:///<user data dir>/sessions.db``, creating the folder if needed."""
    folder = Path(user_data_dir(APP_NAME, appauthor=False))
    _ensure_folder(folder)
    return URL.create("sqlite", database=str(folder / DB_FILE_NAME)).render_as_string()


def alembic_config() -> Config:
    """The Alembic config built in code: the app never depends on an alembic.ini in the working folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    return cfg


def open_database(url: str | None = None, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Database:
    """Open (creating if needed) the database at ``url`` (default: ``default_db_url()``) and upgrade
    its schema to the newest revision. Raises ``StorageError`` for anything the user must fix."""
    parsed = _parse_url(url or default_db_url())
    script = ScriptDirectory.from_config(alembic_config())
    if parsed.get_backend_name() == "sqlite":
        db = _open_sqlite(parsed, busy_timeout_ms, script)
    else:
        db = _open_server(parsed)
    try:
        _migrate(db, script)
    except BaseException:
        db.close()
        raise
    return db


# ---- URL and files ----------------------------------------------------------------------------


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise StorageError(
            f"{url!r} is not a database URL: use --db sqlite:///PATH or --db postgresql+psycopg://USER:PASSWORD@HOST/DB"
        ) from None
    if parsed.drivername == "postgresql":  # SQLAlchemy's default driver (psycopg2) is not installed; psycopg 3 is
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_path(url: URL) -> Path:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or url.query.get("mode") == "memory":
        raise StorageError(
            f"In-memory SQLite ({url.render_as_string()}) cannot be shared with the recorder thread and is lost on exit: "
            "use a file, --db sqlite:///PATH"
        )
    return Path(database).expanduser().absolute()


def _ensure_folder(folder: Path) -> None:
    """Create ``folder`` if needed and check we may create files in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(unwritable_message(f"Folder {folder}", exc.strerror or str(exc))) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StorageError(unwritable_message(f"Folder {folder}", "permission denied"))


def _check_is_sqlite_file(path: Path) -> None:
    """Refuse, without writing a byte, a file that does not start with the SQLite header."""
    if path.is_dir():
        raise StorageError(f"Database {path} is a folder, not a file: choose a file with --db sqlite:///PATH")
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StorageError(
            f"Database {path} cannot be read ({exc.strerror or exc}): fix the permissions or choose another with --db sqlite:///PATH"
        ) from exc
    if head and head != _SQLITE_MAGIC:
        raise StorageError(corrupt_message(str(path)))


def _preflight(path: Path, busy_timeout_ms: int) -> tuple[str | None, set[str]]:
    """With plain sqlite3 and before anything writes (even the switch to WAL): read the schema
    revision and table names, take the write lock and try a write, then roll back, so a corrupt body,
    a foreign file, another program holding the lock or a file that cannot be written is reported
    with nothing changed."""
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise _sqlite_error(exc, path) from exc
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        tables = {t for t in tables if not t.startswith("sqlite_")}
        current = None
        if "alembic_version" in tables:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            current = row[0] if row else None
        conn.execute("BEGIN IMMEDIATE")
        try:
            # A read-only file (immutable, read-only mount) still opens and even takes the lock: only
            # a write shows it. Rolled back, so nothing is changed (issue 13, finding 2).
            conn.execute("CREATE TABLE _session_monitor_write_probe (x)")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise _sqlite_error(exc, path) from exc
    finally:
        conn.close()
    return current, tables


# ---- engines ----------------------------------------------------------------------------------


def _open_sqlite(url: URL, busy_timeout_ms: int, script: ScriptDirectory) -> Database:
    path = _sqlite_path(url)
    _ensure_folder(path.parent)
    if path.exists():
        _check_is_sqlite_file(path)
    current, tables = _preflight(path, busy_timeout_ms)
    _check_upgradable(str(path), script, current, tables)
    engine = create_engine(url.set(database=str(path)), connect_args={"timeout": busy_timeout_ms / 1000})
    _install_sqlite_hooks(engine, busy_timeout_ms)
    return _database(url, engine, path)


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL + synchronous=NORMAL (a crash loses at most the last commit, never corrupts), foreign keys
    on, a busy timeout; and SQLAlchemy, not sqlite3, emits BEGIN, so DDL and reads are transactional."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite refused WAL mode (journal_mode=%s); writes will be slower", mode)
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_IMMEDIATE) else "BEGIN")


def _open_server(url: URL) -> Database:
    name = url.render_as_string(hide_password=True)
    connect_args: dict[str, Any] = {"connect_timeout": PG_CONNECT_TIMEOUT_S} if url.get_backend_name() == "postgresql" else {}
    try:
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (sa_exc.NoSuchModuleError, ImportError) as exc:
        raise StorageError(
            f"Database URL {name} needs a driver that is not installed ({exc}): use sqlite:///PATH or postgresql+psycopg://..."
        ) from exc
    try:
        with engine.connect():
            pass
    except sa_exc.DBAPIError as exc:
        engine.dispose()
        raise StorageError(
            f"Cannot reach database {name} ({failure_reason(exc)}): check that the server is running and the host, "
            "user and password in --db are right, or use --db sqlite:///PATH"
        ) from exc
    return _database(url, engine, None)


def _database(url: URL, engine: Engine, path: Path | None) -> Database:
    writer_engine = engine.execution_options(**{_IMMEDIATE: True})
    return Database(
        url=url,
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        writer_sessions=sessionmaker(writer_engine, expire_on_commit=False),
        path=path,
        revision=None,
    )


# ---- migrations -------------------------------------------------------------------------------


def _migrate(db: Database, script: ScriptDirectory) -> None:
    """Bring the schema to head; copy a SQLite file aside first if it holds data of an older schema."""
    cfg = alembic_config()
    head = script.get_current_head()
    try:
        current, tables = _current_state(db.engine)
        if current == head:
            db.revision = current
            return
        _check_upgradable(db.name, script, current, tables)
        if db.path is not None and current is not None:
            db.backup = _backup_sqlite(db.path, f"{head}")
        log.info("upgrading database %s from schema %s to %s", db.name, current or "(empty)", head)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except sa_exc.DBAPIError as exc:
        raise _db_error(exc, db) from exc
    db.revision = head


def _current_state(engine: Engine) -> tuple[str | None, set[str]]:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        tables = set(inspect(conn).get_table_names())
    return current, tables


def _check_upgradable(name: str, script: ScriptDirectory, current: str | None, tables: set[str]) -> None:
    """Refuse files that are not ours, or were written by a newer app, before changing anything."""
    foreign = sorted(tables - {"alembic_version"})
    if current is None and foreign:
        raise StorageError(
            f"Database {name} is not a Session Monitor recording (it has tables {', '.join(foreign[:5])}): "
            "choose another with --db sqlite:///PATH; nothing was changed"
        )
    if current is not None:
        try:
            script.get_revision(current)
        except CommandError:
            raise StorageError(
                f"Database {name} was written by a newer Session Monitor (schema {current}): update this app; nothing was changed"
            ) from None


def _backup_sqlite(path: Path, target_rev: str) -> Path:
    """Copy ``path`` to ``<name>.bak-before-<rev>`` (``.2``, ``.3``... if taken) with SQLite's backup
    API, so pages still in the WAL are included. Never overwrites."""
    dest = path.with_name(f"{path.name}.bak-before-{target_rev}")
    n = 1
    while dest.exists():
        n += 1
        dest = path.with_name(f"{path.name}.bak-before-{target_rev}.{n}")
    src = sqlite3.connect(path)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    except sqlite3.Error as exc:
        dest.unlink(missing_ok=True)  # our own half-written copy, never the user's file
        raise StorageError(
            f"Could not back up database {path} to {dest} before upgrading it ({failure_reason(exc)}): "
            "free disk space or fix the permissions; nothing was changed"
        ) from exc
    finally:
        src.close()
    log.info("database %s copied to %s before the schema upgrade", path, dest)
    return dest


def _db_error(exc: sa_exc.DBAPIError, db: Database) -> StorageError:
    if db.path is not None:
        return _sqlite_error(exc, db.path)
    return StorageError(f"Database {db.name} failed ({failure_reason(exc)}): check the server and retry")
