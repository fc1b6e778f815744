"""Change events: what happened to a trial between two stored versions.

What each kind carries (every value is JSON-ready; dates are written as the registry writes them,
``2025``, ``2025-08`` or ``2025-08-14``; statuses are the registry's enum names):

``new``
    old None; new = the overall status; detail ``{"title": brief title}``.
``status``
    old, new = overall status strings (e.g. "NOT_YET_RECRUITING" -> "RECRUITING"; WITHDRAWN too);
    detail has ``why_stopped`` and ``last_known_status`` of the new version when it gives them.
``site_status``
    old, new None; detail ``{"sites": [{"change", "facility", "city", "state", "country", "old",
    "new"}, ...]}`` sorted by country, state, city, facility. ``change`` is "status" (the site's
    status went from old to new), "added" (old is None) or "removed" (the site is no longer
    listed; new is None). A site's old/new status may itself be None when the record gives none.
``results``
    old None; new = the date results were first posted (or None if the record gives none).
``dates``
    detail ``{"fields": [...]}`` names the dates that changed among "start", "primary_completion"
    and "completion"; old and new map each of them to ``{"date", "type"}`` (type ACTUAL or
    ESTIMATED) or None.
``enrollment``
    old, new = ``{"count": int or None, "type": "ACTUAL"/"ESTIMATED" or None}``.
``eligibility``
    old, new = the eligibility criteria text (or None).
``removed``
    old = the last overall status we held; new None; detail ``{"title": brief title}``.
``updated``
    old, new None; detail ``{"fields": [...]}`` lists, sorted, the fields of
    ``server.trials.Trial`` that changed and have no kind of their own (nested ones dotted, e.g.
    "design.phases"; "locations" when a site changed in anything but its status).

Update dates and ``versionHolder`` are never a change. An event's ``version_id`` is the version
it came from (the last version held, for ``removed``); its ``event_id`` never changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

# Every kind of event, in the order a page lists them.
KINDS = (
    "new",  # a trial we had not seen (never posted by the first, baseline load or sync)
    "status",  # overall status old -> new; WITHDRAWN included
    "site_status",  # a site's recruiting status changed, or a site was added or closed
    "results",  # results posted
    "dates",  # start/primary completion/completion date or its ACTUAL/ESTIMATED type changed
    "enrollment",  # enrollment count or type changed
    "eligibility",  # criteria text changed
    "removed",  # gone from the registry, seen by a full sync
    "updated",  # anything else; detail["fields"] lists what
)


@dataclass(frozen=True)
class Change:
    """One difference between two versions of a record, as the pure diff finds it."""

    kind: str
    old: Any = None  # JSON-ready value before (e.g. "NOT_YET_RECRUITING")
    new: Any = None  # JSON-ready value after (e.g. "RECRUITING")
    detail: dict[str, Any] = field(default_factory=dict)  # JSON-ready particulars


@dataclass(frozen=True)
class Event:
    """A change as stored and posted: it belongs to a trial's version and never changes id."""

    event_id: str
    nct_id: str
    kind: str
    old: Any
    new: Any
    detail: dict[str, Any]
    version_id: int | None
    registry_last_update: str | None  # the version's lastUpdatePostDate, YYYY-MM-DD
    detected_at: dt.datetime  # timezone-aware: when we saw it
    run_id: int | None = None
    id: int | None = None  # the row's number, in the order events were stored


def event_id(nct_id: str, kind: str, old_hash: str | None, new_hash: str | None) -> str:
    """Derive an event's id from what it is about, so a rerun derives the same id.

    The pair of version content hashes pins the change; the kind tells apart the several
    events one pair of versions can carry.
    """
    key = "|".join((nct_id, kind, old_hash or "-", new_hash or "-"))
    return hashlib.sha256(key.encode()).hexdigest()[:32]
