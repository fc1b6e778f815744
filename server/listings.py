"""Read-only queries behind the listing pages: search, conditions, sitemaps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from . import tables as t
from .dates import as_utc
from .store import Store

MAX_SEARCH_WORDS = 8


@dataclass(frozen=True)
class TrialRow:
    """A trial as listings show it."""

    nct_id: str
    title: str
    overall_status: str | None
    study_type: str | None
    phases: tuple[str, ...]
    last_update: str | None


@dataclass(frozen=True)
class ConditionRow:
    """A condition and how many current trials are filed under it."""

    slug: str
    label: str
    trials: int
    mesh_id: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a listing and the size of the whole listing."""

    rows: Sequence[Any]
    total: int


_CURRENT = t.trials.c.removed_at.is_(None)


def _trial_row(row: Any) -> TrialRow:
    return TrialRow(
        nct_id=row.nct_id,
        title=row.title,
        overall_status=row.overall_status,
        study_type=row.study_type,
        phases=tuple((row.phases or "").split()),
        last_update=row.last_update,
    )


def _trial_filters(status: str | None, phase: str | None) -> list[sa.ColumnElement[bool]]:
    filters: list[sa.ColumnElement[bool]] = [_CURRENT]
    if status:
        filters.append(t.trials.c.overall_status == status)
    if phase:
        # "PHASE1" must not match "EARLY_PHASE1": compare whole space-separated codes.
        padded = sa.literal(" ") + t.trials.c.phases + sa.literal(" ")
        filters.append(padded.contains(f" {phase} ", autoescape=True))
    return filters


def _page_of(
    store: Store, query: sa.Select[Any], filters: Sequence[sa.ColumnElement[bool]], offset: int, limit: int
) -> Page:
    count = sa.select(sa.func.count()).select_from(query.where(*filters).subquery())
    with store.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = conn.execute(query.where(*filters).offset(offset).limit(limit)).all()
    return Page([_trial_row(row) for row in rows], total)


def search_trials(
    store: Store, words: Sequence[str], *, status: str | None = None, phase: str | None = None,
    offset: int = 0, limit: int = 50,
) -> Page:
    """Find current trials whose title or conditions contain every word, newest update first."""
    filters = _trial_filters(status, phase)
    for word in list(words)[:MAX_SEARCH_WORDS]:
        in_conditions = sa.select(t.trial_conditions.c.nct_id).where(
            t.trial_conditions.c.label.icontains(word, autoescape=True)
        )
        filters.append(
            sa.or_(t.trials.c.title.icontains(word, autoescape=True), t.trials.c.nct_id.in_(in_conditions))
        )
    query = sa.select(*t.LISTING_COLUMNS).order_by(t.trials.c.last_update.desc().nulls_last(), t.trials.c.nct_id)
    return _page_of(store, query, filters, offset, limit)


def condition_trials(
    store: Store, slug: str, *, status: str | None = None, offset: int = 0, limit: int = 50
) -> Page:
    """List the current trials filed under one condition, newest update first."""
    filters = _trial_filters(status, None)
    filters.append(
        t.trials.c.nct_id.in_(sa.select(t.trial_conditions.c.nct_id).where(t.trial_conditions.c.slug == slug))
    )
    query = sa.select(*t.LISTING_COLUMNS).order_by(t.trials.c.last_update.desc().nulls_last(), t.trials.c.nct_id)
    return _page_of(store, query, filters, offset, limit)


def _condition_query() -> sa.Select[Any]:
    tc = t.trial_conditions
    return (
        sa.select(
            tc.c.slug,
            sa.func.min(tc.c.label).label("label"),
            sa.func.min(tc.c.mesh_id).label("mesh_id"),
            sa.func.count(sa.distinct(tc.c.nct_id)).label("trials"),
        )
        .join(t.trials, t.trials.c.nct_id == tc.c.nct_id)
        .where(_CURRENT)
        .group_by(tc.c.slug)
    )


def list_conditions(store: Store, *, offset: int = 0, limit: int = 100) -> Page:
    """List every condition with its count of current trials, alphabetically by slug."""
    query = _condition_query()
    with store.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
        rows = conn.execute(query.order_by(t.trial_conditions.c.slug).offset(offset).limit(limit)).all()
    return Page([ConditionRow(r.slug, r.label, int(r.trials), r.mesh_id) for r in rows], total)


def condition(store: Store, slug: str) -> ConditionRow | None:
    """Return one condition with its trial count, or None if no current trial has it."""
    with store.connect() as conn:
        row = conn.execute(_condition_query().where(t.trial_conditions.c.slug == slug)).first()
    return ConditionRow(row.slug, row.label, int(row.trials), row.mesh_id) if row else None


def titles(store: Store, nct_ids: Iterable[str]) -> dict[str, str]:
    """Return the titles of some trials, by NCT ID."""
    ids = sorted(set(nct_ids))
    if not ids:
        return {}
    with store.connect() as conn:
        rows = conn.execute(sa.select(t.trials.c.nct_id, t.trials.c.title).where(t.trials.c.nct_id.in_(ids)))
        return {row.nct_id: row.title for row in rows}


def version_first_seen(store: Store, version_id: int) -> dt.datetime:
    """Return when we first stored a version."""
    with store.connect() as conn:
        value = conn.execute(sa.select(t.versions.c.first_seen).where(t.versions.c.id == version_id)).scalar_one()
    return as_utc(value)


def sitemap_entries(store: Store, *, offset: int, limit: int) -> list[tuple[str, str | None]]:
    """List (NCT ID, last update) of current trials in NCT ID order, one sitemap's worth."""
    query = (
        sa.select(t.trials.c.nct_id, t.trials.c.last_update)
        .where(_CURRENT)
        .order_by(t.trials.c.nct_id)
        .offset(offset)
        .limit(limit)
    )
    with store.connect() as conn:
        return [(row.nct_id, row.last_update) for row in conn.execute(query)]


def sitemap_lastmods(store: Store, size: int) -> list[str | None]:
    """Return the newest last-update date in each sitemap of ``size`` trials, in order."""
    numbered = (
        sa.select(
            ((sa.func.row_number().over(order_by=t.trials.c.nct_id) - 1) // size).label("sitemap"),
            t.trials.c.last_update,
        )
        .where(_CURRENT)
        .subquery()
    )
    query = (
        sa.select(numbered.c.sitemap, sa.func.max(numbered.c.last_update))
        .group_by(numbered.c.sitemap)
        .order_by(numbered.c.sitemap)
    )
    with store.connect() as conn:
        return [row[1] for row in conn.execute(query)]
