"""The store's queries that only syncs need: baseline, the hash index, removals, status."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from . import tables as t
from .dates import as_utc, utcnow
from .derive import make_event
from .eventlog import insert_events
from .events import Change
from .store import Store, decompress
from .trials import parse_trial

SYNC_KINDS = ("sync", "sync-full")
# Runs after which new trials are news: anything that stored trials and finished.
_WRITING_KINDS = ("load", *SYNC_KINDS)


def is_baseline(store: Store) -> bool:
    """Say whether no load or sync has ever finished: the next one is the baseline.

    A baseline killed half-way stays the baseline until a run completes, so its rerun posts no
    ``new`` events either.
    """
    query = sa.select(t.runs.c.id).where(t.runs.c.kind.in_(_WRITING_KINDS), t.runs.c.outcome == "success").limit(1)
    with store.connect() as conn:
        return conn.execute(query).first() is None


def last_sync(store: Store) -> dict[str, Any] | None:
    """Return the newest successful sync, full or incremental."""
    query = (
        sa.select(t.runs)
        .where(t.runs.c.kind.in_(SYNC_KINDS), t.runs.c.outcome == "success")
        .order_by(t.runs.c.id.desc())
        .limit(1)
    )
    with store.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _run(row) if row is not None else None


def last_runs(store: Store, limit: int = 5) -> list[dict[str, Any]]:
    """Return the newest runs of every kind and outcome."""
    query = sa.select(t.runs).order_by(t.runs.c.id.desc()).limit(limit)
    with store.connect() as conn:
        return [_run(row) for row in conn.execute(query).mappings()]


def _run(row: Any) -> dict[str, Any]:
    run = dict(row)
    run["counts"] = json.loads(run["counts"] or "{}")
    for key in ("started_at", "finished_at"):
        if run[key] is not None:
            run[key] = as_utc(run[key])
    return run


def close_interrupted(store: Store) -> int:
    """Record runs left "running" by a process that died as failed; call it holding the write lock."""
    with store.engine.begin() as conn:
        result = conn.execute(
            t.runs.update()
            .where(t.runs.c.outcome == "running", t.runs.c.kind.in_(_WRITING_KINDS))
            .values(outcome="failed", message="interrupted: the process ended before the run finished")
        )
        return int(result.rowcount)


def newest_update(store: Store) -> str | None:
    """Return the latest lastUpdatePostDate among the trials held."""
    with store.connect() as conn:
        value: str | None = conn.execute(sa.select(sa.func.max(t.trials.c.last_update))).scalar_one()
    return value


@dataclass(frozen=True)
class Held:
    """A trial's entry in the hash index."""

    content_hash: str
    removed: bool


def hash_index(store: Store, ids: Sequence[str]) -> dict[str, Held]:
    """Return the current content hash of each of these trials we hold."""
    if not ids:
        return {}
    query = sa.select(t.trials.c.nct_id, t.trials.c.content_hash, t.trials.c.removed_at).where(
        t.trials.c.nct_id.in_(sorted(set(ids)))
    )
    with store.connect() as conn:
        return {row.nct_id: Held(row.content_hash, row.removed_at is not None) for row in conn.execute(query)}


def restore(store: Store, ids: Sequence[str]) -> None:
    """Take trials the registry lists again, unchanged, off the removed list."""
    if ids:
        with store.engine.begin() as conn:
            conn.execute(t.trials.update().where(t.trials.c.nct_id.in_(list(ids))).values(removed_at=None))


def held_ids(store: Store, chunk: int = 5000) -> Iterator[str]:
    """Stream the ids of the trials held and not removed, in order."""
    after = ""
    while True:
        query = (
            sa.select(t.trials.c.nct_id)
            .where(t.trials.c.removed_at.is_(None), t.trials.c.nct_id > after)
            .order_by(t.trials.c.nct_id)
            .limit(chunk)
        )
        with store.connect() as conn:
            ids = list(conn.execute(query).scalars())
        if not ids:
            return
        yield from ids
        after = ids[-1]


def mark_removed(store: Store, ids: Sequence[str], run_id: int | None) -> int:
    """Mark trials removed and post their ``removed`` events, in one transaction; count them."""
    if not ids:
        return 0
    now = utcnow()
    query = (
        sa.select(t.trials.c.nct_id, t.trials.c.version_id, t.trials.c.content_hash, t.trials.c.last_update,
                  t.versions.c.raw)
        .join(t.versions, t.versions.c.id == t.trials.c.version_id)
        .where(t.trials.c.nct_id.in_(list(ids)), t.trials.c.removed_at.is_(None))
    )
    with store.engine.begin() as conn:
        rows = conn.execute(query).all()
        events = []
        for row in rows:
            trial = parse_trial(decompress(row.raw))
            change = Change("removed", old=trial.overall_status, detail={"title": trial.brief_title})
            events.append(
                make_event(
                    row.nct_id, change, row.content_hash, None, int(row.version_id), row.last_update, run_id, now
                )
            )
        conn.execute(
            t.trials.update().where(t.trials.c.nct_id.in_([row.nct_id for row in rows])).values(removed_at=now)
        )
        insert_events(conn, events)
    return len(rows)


def status(store: Store) -> dict[str, Any]:
    """Say how fresh the store is: the last successful sync, the newest runs, the counts."""
    with store.connect() as conn:
        held = conn.execute(
            sa.select(sa.func.count()).select_from(t.trials).where(t.trials.c.removed_at.is_(None))
        ).scalar_one()
        removed = conn.execute(
            sa.select(sa.func.count()).select_from(t.trials).where(t.trials.c.removed_at.is_not(None))
        ).scalar_one()
        events = conn.execute(sa.select(sa.func.count()).select_from(t.events)).scalar_one()
    sync = last_sync(store)
    return {
        "last_sync": sync,
        "registry_timestamp": sync["registry_timestamp"] if sync else None,
        "runs": last_runs(store),
        "counts": {"trials": int(held), "removed": int(removed), "events": int(events)},
    }
