"""Per-client SPARQL limits, shared by every web worker on the machine: queries at once, queries a minute.

Queries at once are counted with lock files under the data dir, as the machine-wide query slots
are: the kernel frees a lock when its process dies, so a killed worker leaves no slot taken. A
client's lock file lives only while a query holds it, so the folder never fills up. Queries a
minute are a log of admission times in a small SQLite file, which every worker writes in turn.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from .sparql import TooManyQueries

WINDOW_SECONDS = 60.0
# What a client held back by its own running queries is told to wait: about one short query.
BUSY_RETRY_SECONDS = 2


def client_key(address: str) -> str:
    """Name a client in file names and tables without writing its address down."""
    return hashlib.sha256(address.encode()).hexdigest()[:32]


@contextlib.contextmanager
def client_slot(folder: Path, key: str, slots: int) -> Iterator[int]:
    """Hold one of a client's ``slots`` lock files, or raise TooManyQueries at once if all are held."""
    folder.mkdir(parents=True, exist_ok=True)
    number = 0
    while number < slots:
        path = folder / f"{key}-{number}.lock"
        handle = path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            number += 1
            continue
        if not _still_named(path, handle.fileno()):
            # Its holder removed it between our open and our lock: try the same number again.
            handle.close()
            continue
        try:
            yield number
        finally:
            # Removed while still locked, so whoever opened it meanwhile sees it is gone (above).
            path.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    raise TooManyQueries(
        f"you already have {slots} {'query' if slots == 1 else 'queries'} running; "
        "wait for an answer before sending another",
        BUSY_RETRY_SECONDS,
    )


def _still_named(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


class QueryRate:
    """At most ``per_minute`` queries a client in any 60 seconds, counted across processes."""

    def __init__(self, path: Path, per_minute: int) -> None:
        self.path = path
        self.per_minute = per_minute
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: the transaction is begun by hand, IMMEDIATE so that two workers never
        # both read a count below the limit and both admit.
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS admitted (client TEXT NOT NULL, at REAL NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS admitted_client ON admitted (client, at)")
            conn.execute("CREATE INDEX IF NOT EXISTS admitted_at ON admitted (at)")
            self._ready = True
        # Losing the last admissions in a power cut costs nothing worth a disk flush per query.
        conn.execute("PRAGMA synchronous=OFF")
        return conn

    def admit(self, key: str) -> None:
        """Record one query of a client, or raise TooManyQueries saying how long to wait."""
        now = time.time()
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM admitted WHERE at <= ?", (now - WINDOW_SECONDS,))
            count, oldest = conn.execute(
                "SELECT COUNT(*), MIN(at) FROM admitted WHERE client = ?", (key,)
            ).fetchone()
            if count >= self.per_minute:
                conn.execute("COMMIT")
                wait = max(1, math.ceil(oldest + WINDOW_SECONDS - now))
                raise TooManyQueries(
                    f"you sent {count} queries in the last minute, the most this endpoint takes from one client; "
                    f"please wait {wait} s",
                    wait,
                )
            conn.execute("INSERT INTO admitted (client, at) VALUES (?, ?)", (key, now))
            conn.execute("COMMIT")
        finally:
            conn.close()


class ClientLimits:
    """Both limits for one data dir; a limit of 0 is no limit."""

    def __init__(self, data_dir: Path, max_concurrent: int, per_minute: int) -> None:
        self.slots_dir = data_dir / "sparql-clients"
        self.max_concurrent = max_concurrent
        self.rate = QueryRate(data_dir / "sparql-clients.sqlite3", per_minute) if per_minute > 0 else None

    @contextlib.contextmanager
    def admit(self, address: str) -> Iterator[None]:
        """Let one query of the client at ``address`` run, or raise TooManyQueries."""
        key = client_key(address)
        with contextlib.ExitStack() as stack:
            # Running queries first: a query turned away for that does not count against the minute.
            if self.max_concurrent > 0:
                stack.enter_context(client_slot(self.slots_dir, key, self.max_concurrent))
            if self.rate is not None:
                self.rate.admit(key)
            yield
