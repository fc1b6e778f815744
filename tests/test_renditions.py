"""The rendition cache: built once, kept within its byte budget, least recently used dropped first."""

import threading

from server.renditions import Renditions


def test_a_rendition_is_built_once_then_served_from_memory():
    cache = Renditions(max_bytes=100)
    built = []

    def build() -> bytes:
        built.append(1)
        return b"turtle"

    assert cache.get(("hash", "ttl"), build) == b"turtle"
    assert cache.get(("hash", "ttl"), build) == b"turtle"
    assert len(built) == 1
    assert (cache.stats.hits, cache.stats.misses, cache.stats.entries, cache.stats.bytes) == (1, 1, 1, 6)


def test_the_least_recently_used_go_first_when_over_budget():
    cache = Renditions(max_bytes=10)
    cache.get("a", lambda: b"aaaa")
    cache.get("b", lambda: b"bbbb")
    cache.get("a", lambda: b"never built")  # a is now the most recently used
    cache.get("c", lambda: b"cccc")  # 12 bytes: b goes
    assert cache.get("a", lambda: b"rebuilt") == b"aaaa"
    assert cache.get("b", lambda: b"rebuilt") == b"rebuilt"
    assert cache.stats.bytes <= 10


def test_a_rendition_larger_than_the_budget_is_served_but_not_kept():
    cache = Renditions(max_bytes=3)
    assert cache.get("big", lambda: b"too large") == b"too large"
    assert cache.stats.entries == 0 and cache.stats.bytes == 0
    assert Renditions(max_bytes=0).get("x", lambda: b"x") == b"x"


def test_threads_share_the_cache_safely():
    cache = Renditions(max_bytes=1000)
    results: list[bytes] = []

    def worker() -> None:
        for i in range(200):
            results.append(cache.get(i % 50, lambda i=i: str(i % 50).encode() * 3))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 800
    assert all(r == r[: len(r) // 3] * 3 for r in results)
    assert cache.stats.bytes == sum(len(str(i).encode() * 3) for i in range(50))
