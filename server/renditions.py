"""Serialised trial documents kept in memory, so each format of a stored version is written once.

A version's content hash names its content for good, so a rendition never goes stale: the
cache only has to forget what is least recently used once it holds more than its byte budget.
Feed documents and entries are kept the same way, named by their ETag and their event.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


@dataclass
class CacheStats:
    """How the cache has done since it was made."""

    hits: int = 0
    misses: int = 0
    entries: int = 0
    bytes: int = 0


class Renditions:
    """A least-recently-used map of rendition key -> bytes, bounded by total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def get(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        """Return the rendition stored under ``key``, building and keeping it on a miss."""
        found = self.find(key)
        if found is not None:
            return found
        # Build outside the lock: two threads may build the same rendition once each, never wait.
        value = build()
        self.keep(key, value)
        return value

    def find(self, key: Hashable) -> bytes | None:
        """Return the rendition stored under ``key``, or None (counted as a miss)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.stats.hits += 1
            else:
                self.stats.misses += 1
            return found

    def keep(self, key: Hashable, value: bytes) -> None:
        """Store a rendition under ``key``, dropping the least recently used beyond the budget."""
        if len(value) > self.max_bytes:
            return
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None:
                self.stats.bytes -= len(previous)
            self._items[key] = value
            self.stats.bytes += len(value)
            while self.stats.bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self.stats.bytes -= len(dropped)
            self.stats.entries = len(self._items)


def attach_cache(app: Flask, name: str, megabytes: int) -> None:
    """Give each of the app's processes a cache of ``megabytes`` under ``app.extensions[name]``."""
    app.extensions[name] = Renditions(megabytes * 1024 * 1024)


def cache_of(app: Flask, name: str) -> Renditions:
    """Return the cache an app keeps under ``name``."""
    cache: Renditions = app.extensions[name]
    return cache
