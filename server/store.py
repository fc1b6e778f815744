"""The SQL store: versions, current trials, runs and events (SQLAlchemy Core)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from . import tables as t
from .dates import as_utc, utcnow
from .errors import StoreUnavailable, TrialNotFound
from .eventlog import insert_events, read_events, select_events
from .events import Event

# Re-exported: callers know records on their way in, and their stored form, as the store's.
from .incoming import Incoming as Incoming
from .incoming import compress as compress
from .incoming import decompress as decompress
from .trials import release_of

if TYPE_CHECKING:
    from flask import Flask

EXTENSION = "trialpub.store"


def store_of(app: Flask) -> Store:
    """Return the store an application was built with."""
    store: Store = app.extensions[EXTENSION]
    return store


def engine_for(url: str) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL, with psycopg 3 as the driver."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def database_name(engine: Engine) -> str:
    """Name an engine's database for people: its URL without driver or password."""
    url = engine.url.set(drivername=engine.url.get_backend_name())
    return url.render_as_string(hide_password=True)


def unavailable(engine: Engine, exc: DBAPIError) -> StoreUnavailable:
    """Say, on one line, which database cannot be used and why: out of reach, or its disk full."""
    reason = " ".join(str(exc.orig or exc).split())
    name = database_name(engine)
    code = str(getattr(exc.orig, "sqlite_errorname", ""))
    if code == "SQLITE_FULL" or "could not extend file" in reason:
        return StoreUnavailable(
            f"disk full writing the database {name}: free some space and run the command again "
            "(every batch stored before the failure is whole)"
        )
    if code.startswith("SQLITE_IOERR"):
        # A write past a file size limit (EFBIG) or a failing disk: SQLite does not say which.
        return StoreUnavailable(f"disk full or failing: cannot write the database {name} ({reason})")
    return StoreUnavailable(f"cannot reach the database {name}: {reason}")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while a load or sync writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass(frozen=True)
class Stored:
    """What storing one record did."""

    nct_id: str
    outcome: str  # new (trial not seen before), new_version (also back to an earlier content), unchanged
    version_id: int
    previous_version_id: int | None  # the current version before this one, if any
    became_current: bool
    returned: bool = False  # a content stored before, current again (A -> B -> A)


# (new record, record it replaces or None, what storing did) -> events to write with it
DeriveEvents = Callable[["Incoming", dict[str, Any] | None, "Stored"], Iterable[Event]]


@dataclass(frozen=True)
class TrialHead:
    """A trial's current version as its ``trials`` row names it, without the record."""

    nct_id: str
    version_id: int
    content_hash: str
    last_update: str | None
    updated_at: dt.datetime
    removed_at: dt.datetime | None

    def with_record(self, record: dict[str, Any]) -> StoredTrial:
        """Return this version together with its record."""
        return StoredTrial(**{f.name: getattr(self, f.name) for f in fields(TrialHead)}, record=record)


@dataclass(frozen=True)
class StoredTrial(TrialHead):
    """A trial's current version as the store holds it."""

    record: dict[str, Any]


class Store:
    """Queries and writes over one SQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def connect(self) -> Connection:
        """Open a connection, naming an unreachable database as such."""
        try:
            return self.engine.connect()
        except OperationalError as exc:
            raise unavailable(self.engine, exc) from None

    def create(self) -> None:
        """Create every table and index that does not exist yet."""
        try:
            t.metadata.create_all(self.engine)
            # create_all skips the indexes of tables that exist: stores made before an index was added get it here.
            for table in t.metadata.sorted_tables:
                for index in table.indexes:
                    index.create(self.engine, checkfirst=True)
        except OperationalError as exc:
            raise unavailable(self.engine, exc) from None

    def check(self) -> None:
        """Raise StoreUnavailable unless the database answers a query."""
        with self.connect() as conn:
            try:
                conn.execute(sa.text("SELECT 1"))
            except OperationalError as exc:
                raise unavailable(self.engine, exc) from None

    def is_empty(self) -> bool:
        """Say whether no trial has ever been stored (a first load is a baseline)."""
        with self.connect() as conn:
            return conn.execute(sa.select(t.versions.c.id).limit(1)).first() is None

    # -- runs -----------------------------------------------------------------

    def start_run(self, kind: str) -> int:
        """Record the start of a load or sync and return its id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                t.runs.insert().values(kind=kind, started_at=utcnow(), outcome="running", counts="{}")
            )
            return _new_id(result)

    def finish_run(
        self,
        run_id: int,
        outcome: str,
        counts: Mapping[str, int],
        message: str | None = None,
        registry_timestamp: str | None = None,
    ) -> None:
        """Record how a run ended."""
        values: dict[str, Any] = {
            "finished_at": utcnow(),
            "outcome": outcome,
            "counts": json.dumps(dict(counts), sort_keys=True),
            "message": message,
        }
        if registry_timestamp is not None:
            values["registry_timestamp"] = registry_timestamp
        with self.engine.begin() as conn:
            conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(**values))

    def last_run(self, kind: str | None = None, outcome: str | None = None) -> dict[str, Any] | None:
        """Return the newest run, optionally of one kind and outcome."""
        query = sa.select(t.runs).order_by(t.runs.c.id.desc()).limit(1)
        if kind is not None:
            query = query.where(t.runs.c.kind == kind)
        if outcome is not None:
            query = query.where(t.runs.c.outcome == outcome)
        with self.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        run = dict(row)
        run["counts"] = json.loads(run["counts"] or "{}")
        return run

    # -- versions -------------------------------------------------------------

    def store_batch(
        self,
        batch: Sequence[Incoming],
        run_id: int | None = None,
        derive_events: DeriveEvents | None = None,
    ) -> list[Stored]:
        """Store a batch of records in one transaction; a version seen before is not stored again.

        A new version becomes the trial's current one unless the current one was posted later
        (so loading an old version after a new one does not turn the clock back). A content
        stored before that comes back after a later one, posted no earlier and in a data release no
        earlier (A -> B -> A), is not stored again but becomes current again, as a new version would;
        the release date tells it from a rerun of the files A and B, which posted the same day.
        ``derive_events`` is called for every record stored as a new version, with the record
        that was current before it (None for a trial not seen before); the events it returns
        are written in the same transaction, so versions and their events stand or fall together.
        """
        if not batch:
            return []
        now = utcnow()
        ids = sorted({item.nct_id for item in batch})
        with self.engine.begin() as conn:
            known = {
                (row.nct_id, row.content_hash): int(row.id)
                for row in conn.execute(
                    sa.select(t.versions.c.id, t.versions.c.nct_id, t.versions.c.content_hash).where(
                        t.versions.c.nct_id.in_(ids)
                    )
                )
            }
            current: dict[str, _Current] = {
                row.nct_id: _Current(row.nct_id, int(row.version_id), row.last_update)
                for row in conn.execute(
                    sa.select(t.trials.c.nct_id, t.trials.c.version_id, t.trials.c.last_update).where(
                        t.trials.c.nct_id.in_(ids)
                    )
                )
            }
            held = set(current)
            # One multi-row INSERT for the batch's new versions (a statement per row costs more
            # in SQLAlchemy than the database's own work), then the bookkeeping in input order.
            fresh = self._insert_versions(conn, batch, known, run_id, now)
            before = (
                self._previous_records(conn, [cur.version_id for cur in current.values()])
                if derive_events is not None
                else {}
            )
            results: list[Stored] = []
            made_current: dict[str, tuple[Incoming, int]] = {}
            # The records this batch made current, by version: what a later item replaces.
            replaced_by_batch: dict[int, Incoming] = {}
            returning: dict[int, Incoming] = {}  # versions current again, by the item that brought them back
            events: list[Event] = []
            for item in batch:
                nct_id = item.nct_id
                key = (nct_id, item.content_hash)
                inserted = fresh.get(key)
                cur = current.get(nct_id)
                previous = cur.version_id if cur else None
                newer = cur is None or (item.last_update or "") >= (cur.last_update or "")
                if inserted is None or inserted[0] is not item:
                    # Stored before, or earlier in this batch: unchanged, unless the trial went back
                    # to it from a later content (A -> B -> A), which moves the current version back.
                    version_id = known[key] if inserted is None else inserted[1]
                    if cur is None or version_id == cur.version_id or not newer:
                        results.append(Stored(nct_id, "unchanged", version_id, previous, False))
                        continue
                    made = replaced_by_batch.get(cur.version_id)
                    now_current = made.record if made is not None else before.get(cur.version_id)
                    if now_current is None:
                        now_current = _record_of(conn, cur.version_id)
                    if release_of(item.record) < release_of(now_current):
                        # A rerun of an earlier release, not the registry going back.
                        results.append(Stored(nct_id, "unchanged", version_id, previous, False))
                        continue
                    returned = True
                    returning[version_id] = item
                else:
                    version_id, returned = inserted[1], False
                if newer:
                    made_current[nct_id] = (item, version_id)
                    current[nct_id] = _Current(nct_id, version_id, item.last_update)
                    replaced_by_batch[version_id] = item
                outcome = "new" if cur is None else "new_version"
                stored = Stored(nct_id, outcome, version_id, previous, newer, returned)
                results.append(stored)
                if derive_events is not None:
                    replaced = None
                    if previous is not None:
                        made = replaced_by_batch.get(previous)
                        replaced = made.record if made is not None else before[previous]
                    events.extend(derive_events(item, replaced, stored))
            self._make_current(conn, made_current, held, now)
            # A content that came back keeps its version row, written again with the release it came
            # back in: the row says when the registry last published it, which tells the next revert
            # from a rerun of older files.
            back = [
                {"v_id": version_id, "v_raw": item.blob()}
                for item, version_id in made_current.values()
                if returning.get(version_id) is item
            ]
            if back:
                rewrite = t.versions.update().where(t.versions.c.id == sa.bindparam("v_id"))
                conn.execute(rewrite.values(raw=sa.bindparam("v_raw")), back)
            if events:
                insert_events(conn, events)
        return results

    @staticmethod
    def _insert_versions(
        conn: Connection,
        batch: Sequence[Incoming],
        known: Mapping[tuple[str, str], int],
        run_id: int | None,
        now: dt.datetime,
    ) -> dict[tuple[str, str], tuple[Incoming, int]]:
        """Insert the versions not stored yet; map each (trial, hash) to its first item and new id."""
        firsts: dict[tuple[str, str], Incoming] = {}
        for item in batch:
            key = (item.nct_id, item.content_hash)
            if key not in known and key not in firsts:
                firsts[key] = item
        if not firsts:
            return {}
        rows = [
            {
                "nct_id": item.nct_id,
                "content_hash": item.content_hash,
                "last_update": item.last_update,
                "raw": item.blob(),
                "first_seen": now,
                "run_id": run_id,
            }
            for item in firsts.values()
        ]
        statement = t.versions.insert().returning(t.versions.c.id, sort_by_parameter_order=True)
        new_ids = [int(row.id) for row in conn.execute(statement, rows)]
        return {key: (item, version_id) for (key, item), version_id in zip(firsts.items(), new_ids, strict=True)}

    @staticmethod
    def _previous_records(conn: Connection, version_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Read the records of versions about to be replaced, in one query."""
        if not version_ids:
            return {}
        query = sa.select(t.versions.c.id, t.versions.c.raw).where(t.versions.c.id.in_(list(version_ids)))
        return {int(row.id): decompress(row.raw) for row in conn.execute(query)}

    @staticmethod
    def _make_current(
        conn: Connection, made_current: Mapping[str, tuple[Incoming, int]], held: set[str], now: dt.datetime
    ) -> None:
        """Write the current-version rows and conditions of the trials a batch moved forward."""
        if not made_current:
            return
        rows = []
        for nct_id, (item, version_id) in made_current.items():
            rows.append(
                {
                    "nct_id": nct_id,
                    "version_id": version_id,
                    "content_hash": item.content_hash,
                    "last_update": item.last_update,
                    **item.listing(),
                    "updated_at": now,
                    "removed_at": None,
                }
            )
        updates = [row for row in rows if row["nct_id"] in held]
        inserts = [row for row in rows if row["nct_id"] not in held]
        if inserts:
            conn.execute(t.trials.insert(), inserts)
        if updates:
            columns: dict[str, Any] = {key: sa.bindparam(f"v_{key}") for key in updates[0] if key != "nct_id"}
            conn.execute(
                t.trials.update().where(t.trials.c.nct_id == sa.bindparam("v_nct_id")).values(**columns),
                [{f"v_{key}": value for key, value in row.items()} for row in updates],
            )
            moved = [row["nct_id"] for row in updates]
            conn.execute(t.trial_conditions.delete().where(t.trial_conditions.c.nct_id.in_(moved)))
        conditions = [
            {"nct_id": nct_id, **row}
            for nct_id, (item, _version_id) in made_current.items()
            for row in item.conditions()
        ]
        if conditions:
            conn.execute(t.trial_conditions.insert(), conditions)

    def version_record(self, version_id: int) -> dict[str, Any]:
        """Return the raw record of one stored version."""
        with self.connect() as conn:
            return _record_of(conn, version_id)

    def versions_of(self, nct_id: str) -> list[dict[str, Any]]:
        """List a trial's versions, oldest first, without their records."""
        query = (
            sa.select(t.versions.c.id, t.versions.c.content_hash, t.versions.c.last_update, t.versions.c.first_seen)
            .where(t.versions.c.nct_id == nct_id)
            .order_by(t.versions.c.id)
        )
        with self.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # -- current trials -------------------------------------------------------

    def current(self, nct_id: str) -> StoredTrial:
        """Return a trial's current version; raise TrialNotFound if we never stored it."""
        with self.connect() as conn:
            row = conn.execute(_current_query().where(t.trials.c.nct_id == nct_id)).first()
        if row is None:
            raise TrialNotFound(nct_id)
        return _stored_trial(row)

    def head(self, nct_id: str) -> TrialHead:
        """Return a trial's current version without reading its record; raise TrialNotFound if never stored."""
        with self.connect() as conn:
            row = conn.execute(_HEAD_QUERY, {"nct_id": nct_id}).first()
        if row is None:
            raise TrialNotFound(nct_id)
        return _trial_head(row)

    def full(self, head: TrialHead) -> StoredTrial:
        """Read the record of the version a head names (a version's record never changes meaning)."""
        return head if isinstance(head, StoredTrial) else head.with_record(self.version_record(head.version_id))

    def page_stamp(self, nct_id: str) -> tuple[int, int | None, int | None]:
        """Name what a trial's page shows beyond its version: its events (count, newest id), the last good run.

        The count is there because ids can commit out of order; a newer event changes one of the two.
        """
        events = sa.select(sa.func.count(), sa.func.max(t.events.c.id)).where(t.events.c.nct_id == nct_id)
        run = sa.select(sa.func.max(t.runs.c.id)).where(t.runs.c.outcome == "success").scalar_subquery()
        with self.connect() as conn:
            row = conn.execute(events.add_columns(run)).one()
        count, newest, last_run = row
        return int(count), None if newest is None else int(newest), None if last_run is None else int(last_run)

    def count_trials(self, include_removed: bool = False) -> int:
        """Count the trials we hold."""
        query = sa.select(sa.func.count()).select_from(t.trials)
        if not include_removed:
            query = query.where(t.trials.c.removed_at.is_(None))
        with self.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def list_trials(self, offset: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """List current trials by NCT ID with their listing columns."""
        query = (
            sa.select(*t.LISTING_COLUMNS)
            .where(t.trials.c.removed_at.is_(None))
            .order_by(t.trials.c.nct_id)
            .offset(offset)
            .limit(limit)
        )
        with self.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def events(
        self,
        *,
        nct_id: str | None = None,
        slug: str | None = None,
        kinds: Sequence[str] = (),
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[Event]:
        """Return events, newest first: of one trial, of one condition slug, of some kinds."""
        query = select_events(nct_id=nct_id, slug=slug, kinds=kinds, before_id=before_id, limit=limit)
        with self.connect() as conn:
            return read_events(conn, query)

    def iter_current(self, batch_size: int = 500) -> Iterator[StoredTrial]:
        """Stream every current trial in NCT ID order, a batch of rows at a time."""
        after = ""
        while True:
            query = (
                _current_query()
                .where(t.trials.c.nct_id > after)
                .order_by(t.trials.c.nct_id)
                .limit(batch_size)
            )
            with self.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            yield from (_stored_trial(row) for row in rows)
            after = rows[-1].nct_id


def _record_of(conn: Connection, version_id: int) -> dict[str, Any]:
    blob = conn.execute(sa.select(t.versions.c.raw).where(t.versions.c.id == version_id)).scalar_one()
    return decompress(blob)


_HEAD_COLUMNS = (
    t.trials.c.nct_id,
    t.trials.c.version_id,
    t.trials.c.content_hash,
    t.trials.c.last_update,
    t.trials.c.updated_at,
    t.trials.c.removed_at,
)

# Built once: the head is read on every trial request, and building the statement costs more than running it.
_HEAD_QUERY = sa.select(*_HEAD_COLUMNS).where(t.trials.c.nct_id == sa.bindparam("nct_id"))


def _current_query() -> sa.Select[Any]:
    return sa.select(*_HEAD_COLUMNS, t.versions.c.raw).join(t.versions, t.versions.c.id == t.trials.c.version_id)


def _trial_head(row: Any) -> TrialHead:
    return TrialHead(
        nct_id=row.nct_id,
        version_id=int(row.version_id),
        content_hash=row.content_hash,
        last_update=row.last_update,
        updated_at=as_utc(row.updated_at),
        removed_at=as_utc(row.removed_at) if row.removed_at else None,
    )


def _stored_trial(row: Any) -> StoredTrial:
    return _trial_head(row).with_record(decompress(row.raw))


@dataclass(frozen=True)
class _Current:
    nct_id: str
    version_id: int
    last_update: str | None


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
