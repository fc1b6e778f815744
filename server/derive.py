"""Turn a newly stored version into change events, the same way for loads and syncs."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from .dates import utcnow
from .diff import diff
from .events import Change, Event, event_id
from .store import Incoming, Stored
from .trials import content_hash, release_of


class EventDeriver:
    """The ``derive_events`` a run hands to ``Store.store_batch``; counts what it derived.

    A baseline run (the first into an empty store) posts no ``new`` events, but still diffs the
    versions of one trial it stores one after another.
    """

    def __init__(self, *, baseline: bool, run_id: int | None) -> None:
        self.baseline = baseline
        self.run_id = run_id
        self.counts: Counter[str] = Counter()

    def __call__(self, item: Incoming, before: dict[str, Any] | None, stored: Stored) -> list[Event]:
        """Derive the events of one stored version from the version it replaces."""
        if not stored.became_current:
            # An older version arriving after a newer one is history, not news.
            return []
        if before is None:
            if self.baseline:
                return []
            changes = [Change("new", new=item.trial.overall_status, detail={"title": item.trial.brief_title})]
            old_hash = None
        else:
            changes = diff(before, item.trial)
            old_hash = content_hash(before)
        # The ids of a pair of contents seen before (A -> B -> A -> B) would be those of its first
        # time; the release (or the run) it came back in tells this time apart, the same on a rerun.
        new_key = item.content_hash
        if stored.returned:
            new_key += "@" + (release_of(item.record) or f"run {self.run_id}")
        now = utcnow()
        events = [
            make_event(item.trial.nct_id, change, old_hash, new_key, stored.version_id,
                       item.last_update, self.run_id, now)
            for change in changes
        ]
        self.counts.update(event.kind for event in events)
        return events


def make_event(
    nct_id: str,
    change: Change,
    old_hash: str | None,
    new_hash: str | None,
    version_id: int | None,
    registry_last_update: str | None,
    run_id: int | None,
    detected_at: dt.datetime,
) -> Event:
    """Make the stored event of one change, with the id its versions give it."""
    return Event(
        event_id=event_id(nct_id, change.kind, old_hash, new_hash),
        nct_id=nct_id,
        kind=change.kind,
        old=change.old,
        new=change.new,
        detail=change.detail,
        version_id=version_id,
        registry_last_update=registry_last_update,
        detected_at=detected_at,
        run_id=run_id,
    )
