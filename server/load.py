"""One load pass: read bulk files, parse, store new versions in batches, count."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson

from .bulk import RawRecord, batches, read_records
from .derive import EventDeriver
from .errors import InvalidRecord
from .incoming import Prepared, prepare_record
from .rawindex import remember
from .store import Incoming, Store, Stored
from .syncstate import is_baseline
from .trials import checked_hash, parse_trial, raw_hash

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


def _json(raw: RawRecord) -> Any:
    try:
        return orjson.loads(raw.data)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(raw.source, "(whole record)", f"not JSON: {exc}") from None


def prepare(raw: RawRecord) -> Incoming:
    """Parse one raw record into what the store takes; raise InvalidRecord if it is not a study."""
    record = _json(raw)
    trial = parse_trial(record, raw.source)
    digest = checked_hash(record, trial, raw.source)
    return Incoming(trial=trial, record=record, content_hash=digest, raw_hash=raw_hash(raw.data))


def prepare_chunk(chunk: Sequence[RawRecord]) -> list[Prepared | str]:
    """Prepare records in a worker process: each one prepared, or why it was rejected."""
    out: list[Prepared | str] = []
    for raw in chunk:
        try:
            out.append(prepare_record(_json(raw), raw.source, raw_hash(raw.data)))
        except InvalidRecord as exc:
            out.append(str(exc))
    return out


def _in_process(chunk: Sequence[RawRecord]) -> list[Incoming | str]:
    out: list[Incoming | str] = []
    for raw in chunk:
        try:
            out.append(prepare(raw))
        except InvalidRecord as exc:
            out.append(str(exc))
    return out


def _read_all(paths: Iterable[Path], on_record: Callable[[], None] | None) -> Iterator[RawRecord]:
    for path in paths:
        for raw in read_records(path):
            if on_record:
                on_record()
            yield raw


def prepared_batches(
    paths: Iterable[Path], batch_size: int, workers: int, on_record: Callable[[], None] | None = None
) -> Iterator[list[Incoming | str]]:
    """Read and prepare records a batch at a time, in input order; a str says why a record was rejected.

    With more than one worker, batches are prepared in that many processes while the caller
    stores earlier ones; at most two batches per worker are in flight, so memory stays flat.
    """
    chunks = batches(_read_all(paths, on_record), batch_size)
    if workers <= 1:
        yield from (_in_process(chunk) for chunk in chunks)
        return
    # spawn: the workers share nothing with this process (no database connection crosses a fork).
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_end_with_parent, initargs=(os.getpid(),)
    ) as pool:
        pending: deque[Future[list[Prepared | str]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(prepare_chunk, chunk))
            if len(pending) >= 2 * workers:
                yield _wrap(pending.popleft().result())
        while pending:
            yield _wrap(pending.popleft().result())


def _end_with_parent(parent: int) -> None:
    """Exit when the loading process is gone: a load killed with SIGKILL must not leave parsers behind."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="end-with-parent").start()


def _wrap(items: list[Prepared | str]) -> list[Incoming | str]:
    return [item if isinstance(item, str) else Incoming.from_prepared(item) for item in items]


def worker_count(setting: int) -> int:
    """Read the ``load_workers`` setting: 0 means one per CPU."""
    return setting if setting > 0 else (os.cpu_count() or 1)


def load_paths(
    store: Store,
    paths: Iterable[Path],
    batch_size: int = 200,
    on_record: Callable[[], None] | None = None,
    after_batch: AfterBatch | None = None,
    workers: int = 1,
) -> LoadSummary:
    """Load every record under the paths; a bad record is reported and skipped.

    Each batch is one transaction, so a load that dies leaves the store as it was before the
    failed batch, and a rerun completes it (versions already stored are recognised by hash).
    A new version is diffed against the one it replaces into change events, written with it;
    the first load into an empty store posts no ``new`` events (it is the baseline).
    ``workers`` processes parse the records (see ``prepared_batches``).
    """
    summary = LoadSummary()
    baseline = is_baseline(store)
    run_id = store.start_run("load")
    deriver = EventDeriver(baseline=baseline, run_id=run_id)
    summary.events = deriver.counts
    outcome, message = "failed", None
    try:
        for items in prepared_batches(paths, batch_size, workers, on_record):
            batch: list[Incoming] = []
            for item in items:
                summary.counts["read"] += 1
                if isinstance(item, str):
                    summary.counts["rejected"] += 1
                    summary.rejected.append(item)
                    log.warning("rejected %s", item)
                else:
                    batch.append(item)
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
    # So that a full sync from a later bulk file can skip, unparsed, what this one held.
    remember(store, ((i.raw_hash, i.nct_id, i.content_hash) for i in batch if i.raw_hash))
    if after_batch:
        after_batch(batch, stored)
