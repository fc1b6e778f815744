"""Storing and reading change events (SQLAlchemy Core)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import tables as t
from .dates import as_utc
from .events import Event


def insert_events(conn: Connection, events: Iterable[Event]) -> int:
    """Insert events whose id is not stored yet, inside the caller's transaction; count them."""
    pending = {event.event_id: event for event in events}
    if not pending:
        return 0
    known = set(
        conn.execute(sa.select(t.events.c.event_id).where(t.events.c.event_id.in_(list(pending)))).scalars()
    )
    rows = [
        {
            "event_id": e.event_id,
            "nct_id": e.nct_id,
            "kind": e.kind,
            "old_value": json.dumps(e.old),
            "new_value": json.dumps(e.new),
            "detail": json.dumps(e.detail, sort_keys=True),
            "version_id": e.version_id,
            "registry_last_update": e.registry_last_update,
            "detected_at": e.detected_at,
            "run_id": e.run_id,
        }
        for e in pending.values()
        if e.event_id not in known
    ]
    if rows:
        conn.execute(t.events.insert(), rows)
    return len(rows)


def select_events(
    *,
    nct_id: str | None = None,
    slug: str | None = None,
    kinds: Sequence[str] = (),
    before_id: int | None = None,
    limit: int = 50,
) -> sa.Select[Any]:
    """Build the query for events, newest first, filtered as asked."""
    query = sa.select(t.events).order_by(t.events.c.id.desc()).limit(limit)
    if nct_id is not None:
        query = query.where(t.events.c.nct_id == nct_id)
    if slug is not None:
        in_condition = sa.select(t.trial_conditions.c.nct_id).where(t.trial_conditions.c.slug == slug)
        query = query.where(t.events.c.nct_id.in_(in_condition))
    if kinds:
        query = query.where(t.events.c.kind.in_(list(kinds)))
    if before_id is not None:
        query = query.where(t.events.c.id < before_id)
    return query


def read_events(conn: Connection, query: sa.Select[Any]) -> list[Event]:
    """Run an events query and return typed events."""
    return [_event(row) for row in conn.execute(query).mappings()]


def _event(row: Any) -> Event:
    return Event(
        event_id=row["event_id"],
        nct_id=row["nct_id"],
        kind=row["kind"],
        old=json.loads(row["old_value"]) if row["old_value"] else None,
        new=json.loads(row["new_value"]) if row["new_value"] else None,
        detail=json.loads(row["detail"]) if row["detail"] else {},
        version_id=row["version_id"],
        registry_last_update=row["registry_last_update"],
        detected_at=as_utc(row["detected_at"]),
        run_id=row["run_id"],
        id=int(row["id"]),
    )
