"""One sync pass: fetch from the registry, store new versions, diff, post change events.

Idempotent and restartable: versions are keyed by content hash and events by the pair of
versions they come from, and each batch of versions is written with its events in one
transaction. A pass killed at any point and run again ends with the same store and events.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .bulk import RawRecord, batches, read_records
from .derive import EventDeriver
from .errors import InvalidRecord, SyncAborted
from .rawindex import remember, unchanged
from .registry import Registry, RegistrySettings, data_date, open_registry
from .store import Incoming, Store
from .synclock import write_lock
from .syncstate import (
    close_interrupted,
    hash_index,
    held_ids,
    is_baseline,
    last_sync,
    mark_removed,
    newest_update,
    restore,
)
from .trials import content_hash, parse_trial, raw_hash, record_nct_id

log = logging.getLogger(__name__)

# A record on its way in: where it came from, and the parsed JSON or why it could not be read.
_Item = tuple[str, Any]


@dataclass(frozen=True)
class SyncOptions:
    """What one pass does and how carefully."""

    full: bool = False
    source: Path | None = None  # a bulk file to reconcile from, instead of the API
    batch_size: int = 200
    overlap_days: int = 2
    removal_threshold: float = 0.9

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, full: bool = False, source: Path | None = None) -> SyncOptions:
        """Take the settings from an app's config (UPPERCASE keys)."""
        return cls(
            full=full or source is not None,
            source=source,
            batch_size=config["LOAD_BATCH_SIZE"],
            overlap_days=config["SYNC_OVERLAP_DAYS"],
            removal_threshold=config["SYNC_REMOVAL_THRESHOLD"],
        )


_COUNTS = ("pages", "read", "new", "new_versions", "unchanged", "rejected", "restored", "removed")


@dataclass
class SyncSummary:
    """What a pass did, for the progress line, the summary and the run record."""

    run_id: int
    kind: str
    started: float = field(default_factory=time.monotonic)
    counts: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    registry_timestamp: str | None = None
    since: dt.date | None = None
    total_count: int | None = None
    outcome: str = "running"
    message: str | None = None

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def as_dict(self) -> dict[str, int]:
        counts = {key: self.counts[key] for key in _COUNTS}
        counts["events"] = sum(self.events.values())
        counts.update({f"events_{kind}": n for kind, n in sorted(self.events.items())})
        return counts


OnPage = Callable[[SyncSummary], None]


def run_sync(
    store: Store,
    registry: Registry | None,
    options: SyncOptions,
    *,
    on_page: OnPage | None = None,
    wait: bool = False,
    lock_poll: float = 5.0,
    on_lock_wait: Callable[[str], None] | None = None,
) -> SyncSummary:
    """Run one pass under the store's write lock; raise SyncLocked if another one holds it."""
    with write_lock(store.engine, wait=wait, poll=lock_poll, on_wait=on_lock_wait):
        return _Pass(store, registry, options, on_page).run()


def sync_with_config(
    store: Store,
    config: Mapping[str, Any],
    *,
    full: bool = False,
    source: Path | None = None,
    wait: bool = False,
    on_page: OnPage | None = None,
    on_lock_wait: Callable[[str], None] | None = None,
) -> SyncSummary:
    """Run one pass as an app's settings say, opening the registry client if it needs one."""
    options = SyncOptions.from_config(config, full=full, source=source)
    with ExitStack() as stack:
        registry = None
        if source is None:
            registry = stack.enter_context(open_registry(RegistrySettings.from_config(config)))
        return run_sync(
            store, registry, options, on_page=on_page, wait=wait,
            lock_poll=config["SYNC_LOCK_POLL"], on_lock_wait=on_lock_wait,
        )


class _Pass:
    def __init__(self, store: Store, registry: Registry | None, options: SyncOptions, on_page: OnPage | None) -> None:
        if registry is None and options.source is None:
            raise ValueError("a sync needs a registry client or a source file")
        self.store = store
        self.registry = registry
        self.options = options
        self.on_page = on_page
        # Only a full pass needs to know every trial it saw, to find the ones that are gone.
        self.seen: set[str] | None = set() if options.full else None
        # Raw hashes of the file records being parsed, by source, until their content hash is known.
        self.raw_digests: dict[str, str] = {}

    def run(self) -> SyncSummary:
        store, options = self.store, self.options
        # Under the write lock, a run still "running" belongs to a process that died.
        close_interrupted(store)
        baseline = is_baseline(store)
        previous = last_sync(store)
        kind = "sync-full" if options.full else "sync"
        summary = self.summary = SyncSummary(run_id=store.start_run(kind), kind=kind)
        self.deriver = EventDeriver(baseline=baseline, run_id=summary.run_id)
        summary.events = self.deriver.counts
        try:
            for items in self._pages(previous):
                for start in range(0, len(items), options.batch_size):
                    self._store(items[start : start + options.batch_size])
                summary.counts["pages"] += 1
                if self.on_page:
                    self.on_page(summary)
            if self.seen is not None and summary.outcome == "running":
                self._reconcile(self.seen)
            if summary.outcome == "running":
                summary.outcome = "success"
        except SyncAborted as exc:
            summary.outcome, summary.message = "aborted", str(exc)
            raise
        except BaseException as exc:
            summary.outcome, summary.message = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            store.finish_run(summary.run_id, summary.outcome, summary.as_dict(), summary.message,
                             summary.registry_timestamp)
        return summary

    def _pages(self, previous: dict[str, Any] | None) -> Iterator[list[_Item]]:
        """Yield the records to take in, a page at a time; stop early if the registry has not moved."""
        summary = self.summary
        if self.options.source is not None:
            yield from self._file_pages(self.options.source)
            return
        assert self.registry is not None
        version = self.registry.version()
        summary.registry_timestamp = version.data_timestamp
        if (
            not self.options.full
            and previous is not None
            and version.data_timestamp is not None
            and previous["registry_timestamp"] == version.data_timestamp
        ):
            summary.outcome = "success"
            summary.message = f"registry data unchanged since the last sync ({version.data_timestamp})"
            return
        if not self.options.full and not self.deriver.baseline:
            summary.since = self._since(previous)
        for page in self.registry.pages(summary.since):
            if page.total_count is not None:
                summary.total_count = page.total_count
            yield [(f"page {page.number}[{i}]", study) for i, study in enumerate(page.studies)]

    def _since(self, previous: dict[str, Any] | None) -> dt.date | None:
        """Return the first LastUpdatePostDate to ask for: the last sync's data day, less the overlap.

        Until a first run has completed (the baseline) there is no such day: the whole scope.
        """
        day = data_date(previous["registry_timestamp"]) if previous else None
        if day is None:
            # Never synced with the registry, but loaded from files: start from what we hold.
            newest = newest_update(self.store)
            day = dt.date.fromisoformat(newest) if newest else None
        if day is None:
            return None
        return day - dt.timedelta(days=self.options.overlap_days)

    def _file_pages(self, path: Path) -> Iterator[list[_Item]]:
        """Read a bulk file as pages of parsed records; what it repeats byte for byte is counted, not parsed.

        Parsing is most of the cost of a full sync, and all but a few thousand records a day
        come back exactly as before (save versionHolder, which the raw hash leaves out).
        """
        summary = self.summary
        for chunk in batches(read_records(path), self.options.batch_size):
            digests = [raw_hash(raw.data) for raw in chunk]
            known = unchanged(self.store, digests)
            page: list[_Item] = []
            for raw, digest in zip(chunk, digests, strict=True):
                nct_id = known.get(digest)
                if nct_id is None:
                    self.raw_digests[raw.source] = digest
                    page.append((raw.source, _parse(raw)))
                    continue
                summary.counts["read"] += 1
                summary.counts["unchanged"] += 1
                if self.seen is not None:
                    self.seen.add(nct_id)
            yield page

    def _store(self, items: list[_Item]) -> None:
        """Store the changed records of one batch with their events; skip unchanged ones by hash."""
        summary = self.summary
        facts: list[tuple[str, str, str]] = []
        ids = [nct_id for _, record in items if (nct_id := record_nct_id(record))]
        index = hash_index(self.store, ids)
        batch: list[Incoming] = []
        back: list[str] = []
        for source, record in items:
            summary.counts["read"] += 1
            nct_id = record_nct_id(record)
            if nct_id and self.seen is not None:
                self.seen.add(nct_id)
            if isinstance(record, InvalidRecord):
                self._reject(record)
                continue
            digest = content_hash(record) if isinstance(record, Mapping) else ""
            if nct_id and (raw := self.raw_digests.pop(source, None)):
                facts.append((raw, nct_id, digest))
            held = index.get(nct_id) if nct_id else None
            if nct_id and held is not None and held.content_hash == digest:
                summary.counts["unchanged"] += 1
                if held.removed:
                    back.append(nct_id)
                continue
            try:
                trial = parse_trial(record, source)
            except InvalidRecord as exc:
                self._reject(exc)
                continue
            batch.append(Incoming(trial=trial, record=record, content_hash=digest))
        for stored in self.store.store_batch(batch, run_id=summary.run_id, derive_events=self.deriver):
            summary.counts["new_versions" if stored.outcome == "new_version" else stored.outcome] += 1
        if back:
            restore(self.store, back)
            summary.counts["restored"] += len(back)
        remember(self.store, facts)

    def _reject(self, exc: InvalidRecord) -> None:
        self.summary.counts["rejected"] += 1
        log.warning("rejected %s", exc)

    def _reconcile(self, seen: set[str]) -> None:
        """Mark removed what a full pass no longer found, unless the answer looks partial."""
        summary, threshold = self.summary, self.options.removal_threshold
        held = self.store.count_trials()
        found = len(seen)
        if found < threshold * held:
            raise SyncAborted(
                f"the full sync found {found:,} trials but the store holds {held:,}, fewer than "
                f"sync_removal_threshold ({threshold:.0%}) of them: the answer looks partial, "
                "so no trial was marked removed"
            )
        if summary.total_count is not None and found < threshold * summary.total_count:
            raise SyncAborted(
                f"the registry announced {summary.total_count:,} trials but its pages held only {found:,}: "
                "the answer looks partial, so no trial was marked removed"
            )
        gone: list[str] = []
        for nct_id in held_ids(self.store):
            if nct_id not in seen:
                gone.append(nct_id)
            if len(gone) >= self.options.batch_size:
                self._remove(gone)
                gone = []
        self._remove(gone)

    def _remove(self, ids: list[str]) -> None:
        removed = mark_removed(self.store, ids, self.summary.run_id)
        self.summary.counts["removed"] += removed
        self.summary.events["removed"] += removed


def _parse(raw: RawRecord) -> Any:
    """Parse a record's JSON, or say why it is not JSON."""
    try:
        return orjson.loads(raw.data)
    except orjson.JSONDecodeError as exc:
        return InvalidRecord(raw.source, "(whole record)", f"not JSON: {exc}")


def describe(summary: SyncSummary) -> str:
    """Write the closing summary of a pass in one paragraph."""
    counts = summary.as_dict()
    if summary.message and summary.outcome == "success":
        return f"{summary.kind}: {summary.message}"
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(summary.events.items()) if n)
    text = (
        f"{summary.kind}: {counts['pages']} pages, read {counts['read']}, new {counts['new']}, "
        f"new versions {counts['new_versions']}, unchanged {counts['unchanged']}, rejected {counts['rejected']}, "
        f"removed {counts['removed']}, events {counts['events']}" + (f" ({kinds})" if kinds else "")
        + f" in {summary.seconds:.1f}s"
    )
    if summary.registry_timestamp:
        text += f"; registry data of {summary.registry_timestamp}"
    if summary.since:
        text += f"; records updated since {summary.since.isoformat()}"
    return text
