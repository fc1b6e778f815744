"""Event listings behind the feeds: filters joined with the trials, newest entries, archive windows.

Archives (RFC 5005) are fixed windows of event row ids: window ``lo-hi`` holds the matching
events with ``lo <= id <= hi``, and ``hi - lo + 1`` is the feed size. Row ids only grow, so a
window whose last id has been handed out never gains an entry. A feed's newest entries always
cover the open window, because it holds fewer ids than a feed shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import tables as t
from .dates import as_utc
from .eventlog import read_events
from .events import Event
from .feeds import Item
from .store import decompress
from .trials import Trial, parse_trial


@dataclass(frozen=True)
class FeedFilter:
    """Which events a feed shows; statuses, countries and phases are the trials' current ones."""

    slug: str | None = None
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # as the registry spells them, compared without case
    phases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    """One archive window of event row ids, both ends included."""

    lo: int
    hi: int

    @classmethod
    def of(cls, event_row_id: int, size: int) -> Window:
        """Return the window an event row id falls in."""
        lo = (event_row_id - 1) // size * size + 1
        return cls(lo, lo + size - 1)

    def __str__(self) -> str:
        return f"{self.lo}-{self.hi}"


@dataclass(frozen=True)
class ConditionRow:
    """A condition slug with its label and how many current trials are filed under it."""

    slug: str
    label: str
    trials: int


def _matching(f: FeedFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.slug is not None:
        where.append(
            t.events.c.nct_id.in_(sa.select(t.trial_conditions.c.nct_id).where(t.trial_conditions.c.slug == f.slug))
        )
    if f.kinds:
        where.append(t.events.c.kind.in_(f.kinds))
    on_trial: list[sa.ColumnElement[bool]] = []
    if f.statuses:
        on_trial.append(t.trials.c.overall_status.in_(f.statuses))
    if f.countries:
        countries = sa.func.lower(t.trials.c.countries)
        on_trial.append(sa.or_(*(countries.contains(f"|{c.lower()}|", autoescape=True) for c in f.countries)))
    if f.phases:
        # "PHASE1 PHASE2" padded with spaces, so PHASE1 never matches EARLY_PHASE1.
        padded = sa.literal(" ") + t.trials.c.phases + sa.literal(" ")
        on_trial.append(sa.or_(*(padded.contains(f" {p} ", autoescape=True) for p in f.phases)))
    if on_trial:
        where.append(t.events.c.nct_id.in_(sa.select(t.trials.c.nct_id).where(*on_trial)))
    return where


@dataclass(frozen=True)
class Listed:
    """What a feed document's validators need of one matching event, without its change text."""

    id: int
    event_id: str
    detected_at: dt.datetime


def newest(conn: Connection, f: FeedFilter, limit: int) -> list[Listed]:
    """List the newest matching events, newest first."""
    query = _listed().where(*_matching(f)).order_by(t.events.c.id.desc()).limit(limit)
    return _read_listed(conn, query)


def in_window(conn: Connection, f: FeedFilter, window: Window) -> list[Listed]:
    """List the matching events of one archive window, newest first."""
    query = (
        _listed()
        .where(*_matching(f), t.events.c.id.between(window.lo, window.hi))
        .order_by(t.events.c.id.desc())
    )
    return _read_listed(conn, query)


def _listed() -> sa.Select[Any]:
    return sa.select(t.events.c.id, t.events.c.event_id, t.events.c.detected_at)


def _read_listed(conn: Connection, query: sa.Select[Any]) -> list[Listed]:
    return [Listed(int(row.id), row.event_id, as_utc(row.detected_at)) for row in conn.execute(query)]


def events_of(conn: Connection, listed: Sequence[Listed]) -> list[Event]:
    """Read the listed events in full, in the listing's order."""
    if not listed:
        return []
    found = {e.id: e for e in read_events(conn, sa.select(t.events).where(t.events.c.id.in_([x.id for x in listed])))}
    return [found[x.id] for x in listed]


def last_event(conn: Connection) -> tuple[int, dt.datetime | None]:
    """Return the highest event row id handed out so far and when it was detected (0, None before any)."""
    query = sa.select(t.events.c.id, t.events.c.detected_at).order_by(t.events.c.id.desc()).limit(1)
    row = conn.execute(query).first()
    return (int(row.id), as_utc(row.detected_at)) if row else (0, None)


def detected_until(conn: Connection, row_id: int) -> dt.datetime | None:
    """Return when the newest event numbered up to ``row_id`` was detected."""
    query = sa.select(t.events.c.detected_at).where(t.events.c.id <= row_id).order_by(t.events.c.id.desc()).limit(1)
    found = conn.execute(query).scalar()
    return as_utc(found) if found is not None else None


def last_version_id(conn: Connection) -> int:
    """Return the highest version row id: what conditions trials are filed under changes only with it."""
    return int(conn.execute(sa.select(sa.func.max(t.versions.c.id))).scalar() or 0)


def closed_until(last_id: int, size: int) -> int:
    """Return the last row id of the newest window that can no longer change."""
    return last_id // size * size


def prev_window(conn: Connection, f: FeedFilter, below: int, size: int) -> Window | None:
    """Return the newest window with a matching event whose id is below ``below``."""
    query = sa.select(sa.func.max(t.events.c.id)).where(*_matching(f), t.events.c.id < below)
    found = conn.execute(query).scalar()
    return Window.of(int(found), size) if found is not None else None


def next_window(conn: Connection, f: FeedFilter, above: int, until: int, size: int) -> Window | None:
    """Return the oldest closed window with a matching event whose id is above ``above``."""
    query = sa.select(sa.func.min(t.events.c.id)).where(*_matching(f), t.events.c.id > above, t.events.c.id <= until)
    found = conn.execute(query).scalar()
    return Window.of(int(found), size) if found is not None else None


def events_after(conn: Connection, after_id: int) -> list[Event]:
    """Return every event stored after a row id, oldest first."""
    return read_events(conn, sa.select(t.events).where(t.events.c.id > after_id).order_by(t.events.c.id))


def items_for(conn: Connection, events: Sequence[Event]) -> list[Item]:
    """Pair each event with its trial as it was in the event's version (else the current one)."""
    version_ids = {e.version_id for e in events if e.version_id is not None}
    by_version = _parsed(
        conn.execute(sa.select(t.versions.c.id, t.versions.c.raw).where(t.versions.c.id.in_(version_ids)))
        if version_ids
        else ()
    )
    orphans = {e.nct_id for e in events if e.version_id is None}
    current = _parsed(
        conn.execute(
            sa.select(t.trials.c.nct_id, t.versions.c.raw)
            .join(t.versions, t.versions.c.id == t.trials.c.version_id)
            .where(t.trials.c.nct_id.in_(orphans))
        )
        if orphans
        else ()
    )
    return [
        Item(e, by_version.get(e.version_id) if e.version_id is not None else current.get(e.nct_id))
        for e in events
    ]


def _parsed(rows: Iterable[Any]) -> dict[Any, Trial]:
    return {key: parse_trial(decompress(raw)) for key, raw in rows}


def condition_label(conn: Connection, slug: str) -> str | None:
    """Return the label of a condition slug, or None if no current trial is filed under it."""
    query = sa.select(sa.func.min(t.trial_conditions.c.label)).where(t.trial_conditions.c.slug == slug)
    label = conn.execute(query).scalar()
    return str(label) if label is not None else None


def conditions(conn: Connection, search: str | None = None) -> list[ConditionRow]:
    """List condition slugs by label, with trial counts; ``search`` keeps those whose label contains it."""
    label = sa.func.min(t.trial_conditions.c.label)
    query = (
        sa.select(t.trial_conditions.c.slug, label.label("label"), sa.func.count().label("trials"))
        .group_by(t.trial_conditions.c.slug)
        .order_by(t.trial_conditions.c.slug)
    )
    if search:
        query = query.where(sa.func.lower(t.trial_conditions.c.label).contains(search.lower(), autoescape=True))
    return [ConditionRow(row.slug, row.label, int(row.trials)) for row in conn.execute(query)]


def slugs_of(conn: Connection, nct_ids: Iterable[str]) -> set[str]:
    """Return every condition slug the given trials are filed under."""
    ids = sorted(set(nct_ids))
    found: set[str] = set()
    for start in range(0, len(ids), 500):  # keep IN lists short enough for any backend
        query = sa.select(t.trial_conditions.c.slug).where(t.trial_conditions.c.nct_id.in_(ids[start : start + 500]))
        found.update(conn.execute(query).scalars())
    return found
