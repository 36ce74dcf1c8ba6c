"""Row helpers shared by the writer thread and the journal import: one way to find or create a
session's device row and to insert a row and get its key."""

from __future__ import annotations

from typing import Any, Final, cast

from sqlalchemy import CursorResult, Insert, insert, select, update
from sqlalchemy.orm import Session

from monitor.ports import DeviceInfo
from recordings.models import devices_table

#: A device row made for data whose driver never registered (or a journal that names only its source).
UNREGISTERED_KIND: Final = "unknown"
UNREGISTERED_STALE_S: Final = 30.0


def unregistered_device(source: str) -> DeviceInfo:
    return DeviceInfo(source, source, UNREGISTERED_KIND, UNREGISTERED_STALE_S)


def device_row(s: Session, session_id: int, info: DeviceInfo, refresh: bool) -> int:
    """The id of the device row of ``info.source`` in the session, creating it if needed; with
    ``refresh`` a row auto-created from data gets the driver's real label and kind."""
    d = devices_table.c
    found = s.execute(
        select(d.id, d.label, d.kind, d.stale_after_s).where(d.session_id == session_id, d.source == info.source)
    ).first()
    values = {"label": info.label, "kind": info.kind, "stale_after_s": float(info.stale_after_s)}
    if found is None:
        return insert_one(s, insert(devices_table).values(session_id=session_id, source=info.source, **values))
    if refresh and (found.label, found.kind, found.stale_after_s) != tuple(values.values()):
        s.execute(update(devices_table).where(d.id == found.id).values(**values))
    return int(found.id)


def insert_one(s: Session, stmt: Insert) -> int:
    """Insert one row; its new primary key."""
    key = cast(CursorResult[Any], s.execute(stmt)).inserted_primary_key
    if key is None:
        raise RuntimeError(f"the database returned no id for {stmt}")
    return int(key[0])
