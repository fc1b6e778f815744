"""One load pass: read bulk files, parse, store new versions in batches, count."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .bulk import RawRecord, read_records
from .derive import EventDeriver
from .errors import InvalidRecord
from .store import Incoming, Store, Stored
from .syncstate import is_baseline
from .trials import content_hash, parse_trial

log = logging.getLogger(__name__)

AfterBatch = Callable[[Sequence[Incoming], Sequence[Stored]], None]


@dataclass
class LoadSummary:
    """What a load did, for the closing summary and the run record."""

    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[str] = field(default_factory=list)  # "source: reason", in input order
    events: Counter[str] = field(default_factory=Counter)  # change events posted, by kind

    def as_dict(self) -> dict[str, int]:
        keys = ("read", "new", "new_versions", "unchanged", "rejected")
        return {key: self.counts[key] for key in keys}


def prepare(raw: RawRecord) -> Incoming:
    """Parse one raw record into what the store takes; raise InvalidRecord if it is not a study."""
    try:
        record: Any = orjson.loads(raw.data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(raw.source, "(whole record)", f"not JSON: {exc}") from None
    trial = parse_trial(record, raw.source)
    return Incoming(trial=trial, record=record, content_hash=content_hash(record))


def load_paths(
    store: Store,
    paths: Iterable[Path],
    batch_size: int = 200,
    on_record: Callable[[], None] | None = None,
    after_batch: AfterBatch | None = None,
) -> LoadSummary:
    """Load every record under the paths; a bad record is reported and skipped.

    Each batch is one transaction, so a load that dies leaves the store as it was before the
    failed batch, and a rerun completes it (versions already stored are recognised by hash).
    A new version is diffed against the one it replaces into change events, written with it;
    the first load into an empty store posts no ``new`` events (it is the baseline).
    """
    summary = LoadSummary()
    baseline = is_baseline(store)
    run_id = store.start_run("load")
    deriver = EventDeriver(baseline=baseline, run_id=run_id)
    summary.events = deriver.counts
    outcome, message = "failed", None
    try:
        batch: list[Incoming] = []
        for path in paths:
            for raw in read_records(path):
                summary.counts["read"] += 1
                if on_record:
                    on_record()
                try:
                    batch.append(prepare(raw))
                except InvalidRecord as exc:
                    summary.counts["rejected"] += 1
                    summary.rejected.append(str(exc))
                    log.warning("rejected %s", exc)
                    continue
                if len(batch) >= batch_size:
                    _flush(store, batch, deriver, summary, after_batch)
                    batch = []
        _flush(store, batch, deriver, summary, after_batch)
        outcome = "success"
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        store.finish_run(run_id, outcome, {**summary.as_dict(), "events": summary.events.total()}, message)
    return summary


def _flush(
    store: Store,
    batch: list[Incoming],
    deriver: EventDeriver,
    summary: LoadSummary,
    after_batch: AfterBatch | None,
) -> None:
    if not batch:
        return
    stored = store.store_batch(batch, run_id=deriver.run_id, derive_events=deriver)
    for result in stored:
        summary.counts["new_versions" if result.outcome == "new_version" else result.outcome] += 1
    if after_batch:
        after_batch(batch, stored)
