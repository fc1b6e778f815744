"""Snapshots of the embedded store: how queries read it while load, sync or reindex write it.

Oxigraph (RocksDB underneath) lets one process at a time open a directory for writing, and a
read-only open of a directory another process writes is undefined behaviour. So the writer
alone opens ``<data_dir>/oxigraph/primary``, and publishes what it wrote as a snapshot: a RocksDB
checkpoint under ``snapshots/`` (hard links to the immutable table files, so cheap) named by the
``current`` pointer file. Query processes open the snapshot the pointer names, read-only, and
move to a newer one when the pointer changes. A reader holds a shared lock on the snapshot it has
open; the writer deletes an older snapshot only when it can take that lock exclusively, so no
snapshot vanishes under a running query or dump.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path
from typing import IO

import pyoxigraph as ox

POINTER = "current"


def current_snapshot(root: Path) -> Path | None:
    """Return the snapshot queries should read, or None before the first publication."""
    try:
        name = (root / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    path = root / "snapshots" / name
    return path if name and path.is_dir() else None


def publish_snapshot(store: ox.Store, root: Path) -> Path:
    """Checkpoint a store into a new snapshot, point readers at it, and delete unread old ones."""
    snapshots = root / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}"
    store.backup(str(snapshots / name))
    pointer = root / f"{POINTER}.tmp"
    pointer.write_text(name + "\n")
    os.replace(pointer, root / POINTER)
    prune_snapshots(root)
    return snapshots / name


def _lock_path(snapshot: Path) -> Path:
    return snapshot.with_name(snapshot.name + ".lock")


def prune_snapshots(root: Path) -> None:
    """Delete every snapshot but the current one that no reader has open."""
    current = current_snapshot(root)
    for snapshot in (root / "snapshots").iterdir():
        if not snapshot.is_dir() or snapshot == current:
            continue
        with _lock_path(snapshot).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # still read; a later publication deletes it
            shutil.rmtree(snapshot, ignore_errors=True)
            _lock_path(snapshot).unlink(missing_ok=True)


class SnapshotReader:
    """Keeps the newest published snapshot open read-only, with a shared lock on it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._path: Path | None = None
        self._lock: IO[str] | None = None
        self._store: ox.Store | None = None

    def store(self) -> ox.Store | None:
        """Return the newest snapshot's store, or None before the first publication."""
        for _ in range(5):
            snapshot = current_snapshot(self.root)
            if snapshot is None:
                return None
            if snapshot == self._path and self._store is not None:
                return self._store
            self.close()
            lock = _lock_path(snapshot).open("a")
            fcntl.flock(lock, fcntl.LOCK_SH)
            if not snapshot.is_dir():  # pruned between reading the pointer and locking
                lock.close()
                continue
            self._path, self._lock, self._store = snapshot, lock, ox.Store.read_only(str(snapshot))
            return self._store
        return None

    def close(self) -> None:
        """Close the snapshot and release its lock."""
        self._store = None
        self._path = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
