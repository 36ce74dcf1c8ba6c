"""The models and the Alembic migrations describe the same schema, and the revision chain is linear."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.orm import RelationshipProperty

from recordings import database
from recordings.database import alembic_config, open_database
from recordings.models import Base

REPO = Path(__file__).resolve().parents[3]
EXPECTED_TABLES = {"alembic_version", "sessions", "devices", "readings", "waveform_chunks", "events", "signers", "signatures"}


def _diff(db) -> list:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(ctx, Base.metadata)


def test_empty_database_upgraded_to_head_matches_the_models(db_url):
    with open_database(db_url) as db:
        assert db.revision == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert _diff(db) == []
        insp = inspect(db.engine)
        assert set(insp.get_table_names()) == EXPECTED_TABLES
        assert {ix["name"]: ix["column_names"] for ix in insp.get_indexes("readings")} == {
            "ix_readings_session_channel_t": ["session_id", "channel", "t_utc"]
        }
        assert [ix["column_names"] for ix in insp.get_indexes("waveform_chunks")] == [["session_id", "channel", "t0_utc"]]
        assert [ix["column_names"] for ix in insp.get_indexes("events")] == [["session_id", "t_utc"]]
        assert [uq["column_names"] for uq in insp.get_unique_constraints("devices")] == [["session_id", "source"]]


def test_downgrade_to_base_and_upgrade_again_leaves_no_diff(db_url):
    with open_database(db_url) as db:
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(db.engine).get_table_names()) == {"alembic_version"}
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        assert _diff(db) == []


def test_revision_chain_is_linear():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, "several heads: merge the branches"
    assert len(script.get_bases()) == 1
    seen = []
    rev = script.get_revision(script.get_current_head())
    while rev is not None:
        assert not isinstance(rev.down_revision, tuple | list), f"{rev.revision} is a merge point"
        assert not rev.branch_labels and not rev.dependencies
        seen.append(rev.revision)
        rev = script.get_revision(rev.down_revision) if rev.down_revision else None
    assert sorted(seen) == sorted(r.revision for r in script.walk_revisions())


def test_revision_files_are_dated_and_alembic_ini_points_at_the_package():
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(REPO / "alembic.ini")
    assert (REPO / ini["alembic"]["script_location"]).resolve() == database.MIGRATIONS_DIR
    assert ini["alembic"]["file_template"] == "%%(year)d-%%(month).2d-%%(day).2d_%%(rev)s_%%(slug)s"
    script = ScriptDirectory.from_config(alembic_config())
    for rev in script.walk_revisions():
        name = Path(rev.path).name
        assert re.fullmatch(rf"\d{{4}}-\d{{2}}-\d{{2}}_{re.escape(rev.revision)}_\w+\.py", name), name


def test_models_follow_the_house_rules():
    assert Base.metadata.naming_convention["pk"] == "pk_%(table_name)s"
    for mapper in Base.registry.mappers:
        for rel in mapper.relationships:
            assert isinstance(rel, RelationshipProperty) and rel.lazy == "raise", f"{mapper.class_.__name__}.{rel.key}"
