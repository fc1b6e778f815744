"""The index of raw record hashes: tell a record a bulk file repeats without parsing it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import tables as t
from .store import Store


def unchanged(store: Store, hashes: Sequence[str]) -> dict[str, str]:
    """Map each raw hash whose content is its trial's current version (not removed) to the NCT ID."""
    if not hashes:
        return {}
    query = (
        sa.select(t.raw_hashes.c.raw_hash, t.raw_hashes.c.nct_id)
        .join(t.trials, t.trials.c.nct_id == t.raw_hashes.c.nct_id)
        .where(
            t.raw_hashes.c.raw_hash.in_(sorted(set(hashes))),
            t.trials.c.content_hash == t.raw_hashes.c.content_hash,
            t.trials.c.removed_at.is_(None),
        )
    )
    with store.connect() as conn:
        return {row.raw_hash: row.nct_id for row in conn.execute(query)}


def remember(store: Store, rows: Iterable[tuple[str, str, str]]) -> None:
    """Record (raw hash, NCT ID, content hash) facts; one already known is left as it is."""
    values = [{"raw_hash": r, "nct_id": n, "content_hash": c} for r, n, c in dict.fromkeys(rows)]
    if not values:
        return
    dialect = store.engine.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t.raw_hashes)
    with store.engine.begin() as conn:
        conn.execute(insert.on_conflict_do_nothing(index_elements=["raw_hash"]), values)
