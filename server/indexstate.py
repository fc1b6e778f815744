"""What the SQL store knows of the triple store: which version of each trial it holds, and a few facts."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from . import tables as t
from .eventlog import read_events
from .events import Event
from .store import Store, StoredTrial, _current_query, _stored_trial


def get_state(store: Store, key: str) -> Any:
    """Return a stored fact (JSON), or None."""
    with store.connect() as conn:
        value = conn.execute(sa.select(t.index_state.c.value).where(t.index_state.c.key == key)).scalar()
    return None if value is None else json.loads(value)


def set_state(store: Store, key: str, value: Any) -> None:
    """Store a fact (JSON), replacing the one of the same key."""
    with store.engine.begin() as conn:
        conn.execute(t.index_state.delete().where(t.index_state.c.key == key))
        conn.execute(t.index_state.insert().values(key=key, value=json.dumps(value, sort_keys=True)))


def forget_index(store: Store) -> None:
    """Forget every trial and event written to the triple store (before a rebuild)."""
    with store.engine.begin() as conn:
        conn.execute(t.indexed_trials.delete())
        conn.execute(t.index_state.delete().where(t.index_state.c.key == "events_upto"))


def count_indexed(store: Store) -> int:
    """Count the trials the triple store holds."""
    with store.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.indexed_trials)).scalar_one())


def update_span(store: Store) -> tuple[str | None, str | None]:
    """Return the earliest and latest last-update dates of the trials we hold."""
    query = sa.select(sa.func.min(t.trials.c.last_update), sa.func.max(t.trials.c.last_update)).where(
        t.trials.c.removed_at.is_(None)
    )
    with store.connect() as conn:
        first, last = conn.execute(query).one()
    return first, last


def pending_trials(store: Store, batch_size: int) -> Iterator[list[StoredTrial]]:
    """Yield, in batches, trials whose current version the triple store lacks or must drop."""
    indexed = t.indexed_trials
    stale = sa.or_(
        sa.and_(
            t.trials.c.removed_at.is_(None),
            sa.or_(indexed.c.content_hash.is_(None), indexed.c.content_hash != t.trials.c.content_hash),
        ),
        sa.and_(t.trials.c.removed_at.is_not(None), indexed.c.nct_id.is_not(None)),
    )
    after = ""
    while True:
        query = (
            _current_query()
            .outerjoin(indexed, indexed.c.nct_id == t.trials.c.nct_id)
            .where(stale, t.trials.c.nct_id > after)
            .order_by(t.trials.c.nct_id)
            .limit(batch_size)
        )
        with store.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        yield [_stored_trial(row) for row in rows]
        after = rows[-1].nct_id


def mark_indexed(store: Store, written: Sequence[StoredTrial], removed: Sequence[str]) -> None:
    """Record that the triple store now holds these versions and no longer holds these trials."""
    ids = [trial.nct_id for trial in written] + list(removed)
    if not ids:
        return
    with store.engine.begin() as conn:
        conn.execute(t.indexed_trials.delete().where(t.indexed_trials.c.nct_id.in_(ids)))
        if written:
            conn.execute(
                t.indexed_trials.insert(),
                [{"nct_id": trial.nct_id, "content_hash": trial.content_hash} for trial in written],
            )


def events_after(store: Store, after_id: int, limit: int) -> list[Event]:
    """Return stored events after a row number, oldest first."""
    query = sa.select(t.events).where(t.events.c.id > after_id).order_by(t.events.c.id).limit(limit)
    with store.connect() as conn:
        return read_events(conn, query)
