"""One writer at a time: a lock that holds across processes and machines sharing one store.

PostgreSQL: a session advisory lock keyed by database and schema, held on a connection of its
own; SQLite: an exclusive ``flock`` on a file beside the database. Both are released by the
operating system or the server when the holder dies, so a killed sync never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .errors import SyncLocked

_BUSY = (
    "another sync or load is writing to this store ({where}); "
    "wait for it to end, or run with --wait"
)
# An in-memory SQLite database lives in one process: a process-wide lock is enough.
_MEMORY_LOCK = threading.Lock()


def write_lock(
    engine: Engine,
    *,
    wait: bool = False,
    poll: float = 5.0,
    on_wait: Callable[[str], None] | None = None,
) -> AbstractContextManager[None]:
    """Hold the store's write lock; raise SyncLocked if it is taken and we are not to wait.

    ``on_wait`` is told once, with a reason, when we start waiting.
    """
    if engine.dialect.name == "postgresql":
        return _advisory_lock(engine, wait, poll, on_wait)
    database = engine.url.database
    if not database or database == ":memory:":
        return _thread_lock(wait, poll, on_wait)
    return _file_lock(Path(f"{database}.write-lock"), wait, poll, on_wait)


def _waiting(wait: bool, where: str, on_wait: Callable[[str], None] | None, told: bool) -> bool:
    if not wait:
        raise SyncLocked(_BUSY.format(where=where))
    if on_wait is not None and not told:
        on_wait(f"another sync or load is writing to this store ({where}); waiting for it to end")
    return True


@contextmanager
def _advisory_lock(
    engine: Engine, wait: bool, poll: float, on_wait: Callable[[str], None] | None
) -> Iterator[None]:
    conn = engine.connect()
    try:
        key, where = _advisory_key(conn)
        told = False
        while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one():
            conn.commit()
            told = _waiting(wait, where, on_wait, told)
            time.sleep(poll)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()
    finally:
        conn.close()


def _advisory_key(conn: Connection) -> tuple[int, str]:
    """Key the lock by database and schema: several stores may share one server."""
    database, schema = conn.execute(sa.text("SELECT current_database(), current_schema()")).one()
    digest = hashlib.sha256(f"trialpub-write|{database}|{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True), f"PostgreSQL advisory lock on {database}.{schema}"


@contextmanager
def _file_lock(path: Path, wait: bool, poll: float, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                told = _waiting(wait, f"lock file {path.name}", on_wait, told)
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _thread_lock(wait: bool, poll: float, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    told = False
    while not _MEMORY_LOCK.acquire(blocking=False):
        told = _waiting(wait, "in-memory database", on_wait, told)
        time.sleep(poll)
    try:
        yield
    finally:
        _MEMORY_LOCK.release()
