"""open_database: one clear StorageError per environmental failure, and a user's file is never changed
by a failed open or lost by an upgrade."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import textwrap
from pathlib import Path

import pytest
from rec_helpers import session_info

from monitor.errors import StorageError
from recordings import database
from recordings.database import default_db_url, open_database
from recordings.recorder import Recorder


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _path(db_url: str) -> Path:
    return Path(db_url.removeprefix("sqlite:///"))


def _siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


def test_sqlite_connections_use_wal_normal_foreign_keys_and_a_busy_timeout(db_url):
    with open_database(db_url) as db, db.engine.connect() as conn:
        pragma = {
            p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragma == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 2000}


def test_default_url_is_in_the_user_data_folder_which_is_created(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    url = default_db_url()
    assert url == f"sqlite:///{tmp_path / 'xdg' / 'session-monitor' / 'sessions.db'}"
    assert (tmp_path / "xdg" / "session-monitor").is_dir()


def test_reopening_an_up_to_date_database_neither_migrates_nor_backs_up(db_url):
    open_database(db_url).close()
    with open_database(db_url) as db:
        assert db.backup is None and db.revision is not None
    assert _siblings(_path(db_url)) == {"session.db"}


def _migrations_with_a_second_revision(tmp_path: Path) -> Path:
    scripts = tmp_path / "migrations"
    shutil.copytree(database.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "2026-12-01_0003_probe.py").write_text(
        textwrap.dedent(
            '''
            """probe"""
            import sqlalchemy as sa
            from alembic import op

            revision = "0003"
            down_revision = "0002"
            branch_labels = None
            depends_on = None


            def upgrade():
                op.create_table("probe", sa.Column("id", sa.Integer(), primary_key=True))


            def downgrade():
                op.drop_table("probe")
            '''
        )
    )
    return scripts


def test_pending_migration_copies_the_file_aside_first_and_never_overwrites_a_backup(db_url, tmp_path, monkeypatch):
    with open_database(db_url) as db:
        rec = Recorder(db)
        rec.start()
        try:
            sid = rec.begin_session(session_info())
        finally:
            rec.stop()
    path = _path(db_url)
    taken = path.with_name("session.db.bak-before-0003")
    taken.write_bytes(b"an older backup the user kept")
    monkeypatch.setattr(database, "MIGRATIONS_DIR", _migrations_with_a_second_revision(tmp_path))

    with open_database(db_url) as db:
        assert db.revision == "0003"
        assert db.backup == path.with_name("session.db.bak-before-0003.2")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM probe").scalar() == 0

    assert taken.read_bytes() == b"an older backup the user kept"
    backup = sqlite3.connect(path.with_name("session.db.bak-before-0003.2"))
    try:
        assert backup.execute("SELECT version_num FROM alembic_version").fetchone() == ("0002",)
        assert backup.execute("SELECT id FROM sessions").fetchall() == [(sid,)]
    finally:
        backup.close()


def test_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    bad = tmp_path / "sessions.db"
    bad.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    digest = _sha(bad)
    with pytest.raises(StorageError) as err:
        open_database(f"sqlite:///{bad}")
    assert str(bad) in str(err.value)
    assert "is not a SQLite database (corrupt?)" in str(err.value) and "nothing was changed" in str(err.value)
    assert _sha(bad) == digest
    assert _siblings(bad) == {"sessions.db"}  # no -wal / -shm / journal left behind


def test_sqlite_header_with_a_corrupt_body_is_refused_untouched(db_url):
    open_database(db_url).close()
    path = _path(db_url)
    path.write_bytes(path.read_bytes()[:4196])  # truncated mid-page: the schema can no longer be read
    digest = _sha(path)
    with pytest.raises(StorageError, match="corrupt"):
        open_database(db_url)
    assert _sha(path) == digest


def test_database_locked_by_another_program_is_named(db_url):
    open_database(db_url).close()
    path = _path(db_url)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StorageError) as err:
            open_database(db_url, busy_timeout_ms=100)
    finally:
        other.close()
    assert str(err.value) == f"Database {path} is locked by another program (another Session Monitor?): close it and retry"
    open_database(db_url).close()  # fine once the other program lets go


def test_folder_that_cannot_be_created_is_named(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(StorageError) as err:
        open_database(f"sqlite:///{blocker / 'sub' / 'sessions.db'}")
    message = str(err.value)
    assert str(blocker / "sub") in message
    assert "is not writable" in message and "--db sqlite:///PATH" in message
    assert blocker.read_text() == "a file where a folder should be"


def test_a_folder_given_as_the_database_is_refused(tmp_path):
    with pytest.raises(StorageError, match="is a folder"):
        open_database(f"sqlite:///{tmp_path}")


def test_someone_elses_sqlite_database_is_refused_untouched(tmp_path):
    other = tmp_path / "shop.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE groceries (item TEXT)")
    con.commit()
    con.close()
    digest = _sha(other)
    with pytest.raises(StorageError, match=r"not a Session Monitor recording.*groceries"):
        open_database(f"sqlite:///{other}")
    assert _sha(other) == digest


def test_database_from_a_newer_app_is_refused(db_url):
    open_database(db_url).close()
    path = _path(db_url)
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = 'f00d'")
    con.commit()
    con.close()
    digest = _sha(path)
    with pytest.raises(StorageError, match="newer Session Monitor"):
        open_database(db_url)
    assert _sha(path) == digest


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_is_refused(url):
    with pytest.raises(StorageError, match="use a file"):
        open_database(url)


def test_garbage_url_is_refused():
    with pytest.raises(StorageError, match="is not a database URL"):
        open_database("sessions.db")


def test_unreachable_postgresql_names_the_server_but_not_the_password():
    with pytest.raises(StorageError) as err:
        open_database("postgresql://app:secret@127.0.0.1:9/appdb")
    message = str(err.value)
    assert "Cannot reach database postgresql+psycopg://app:***@127.0.0.1:9/appdb" in message
    assert "secret" not in message
