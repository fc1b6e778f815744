"""Mixed traffic at many connections against a running server, with latency per kind and worker memory over time."""

from __future__ import annotations

import random
import statistics
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .measure import status_mb
from .serving import fetch, worker_pids

# Decides which version a fetched trial document shows: ("old" | "new" | "torn", detail).
Checker = Callable[[str, str, bytes], tuple[str, Any]]
TORN_KEPT = 10  # torn reads described in full in the report; the rest only counted
SYNC_LIMIT_S = 1800.0  # a concurrent sync still running after this is stopped and reported as failed


@dataclass(frozen=True)
class Request:
    """One request of the mix, and how to check a trial document it returns."""

    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    checks: str = ""  # the format a trial answer is checked as: "html", "jsonld", "ttl"; "" for none
    nct_id: str = ""


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix: how often it is sent, and the requests it picks from."""

    name: str
    weight: int
    requests: Sequence[Request]


@dataclass
class Tally:
    """What the load generator saw, gathered from every thread under one lock."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)  # checked documents: old / new / torn
    torn: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_mix(port: int, kinds: Sequence[Kind], seconds: float, connections: int, check: Checker,
            master: int, sync: list[str] | None = None, sync_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Send the mix for ``seconds`` (and until a concurrent sync has ended); return the figures."""
    tally = Tally()
    stop = threading.Event()
    rss = RssSampler(master)
    rss.start()
    weights = [k.weight for k in kinds]

    def worker(slot: int) -> None:
        rng = random.Random(slot)
        client = client_address(slot)
        while not stop.is_set():
            kind = rng.choices(kinds, weights)[0]
            _one(port, kind.name, rng.choice(kind.requests), check, tally, client)

    threads = [threading.Thread(target=worker, args=(slot,), daemon=True) for slot in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    synced: dict[str, Any] | None = None
    if sync:
        # Let readers settle first, so the run shows requests before, during and after the sync.
        time.sleep(min(5.0, seconds / 10))
        synced = _run_sync(sync, sync_env or {})
    time.sleep(max(0.0, seconds - (time.monotonic() - started)))
    if synced is not None:
        time.sleep(2.0)  # readers must see the new versions once the sync is done
    stop.set()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    rss.stop()
    return _figures(tally, wall, connections, rss.figures(), synced)


def client_address(slot: int) -> str:
    """Name the client a connection stands for, as a reverse proxy would in X-Forwarded-For."""
    return f"10.0.{slot // 256}.{slot % 256}"


def _one(port: int, kind: str, request: Request, check: Checker, tally: Tally, client: str) -> None:
    path = request.path
    t0 = time.perf_counter()
    try:
        status, _headers, body = fetch(port, path, {**request.headers, "X-Forwarded-For": client})
    except Exception as exc:  # any transport failure counts as an error of the run
        with tally.lock:
            tally.statuses["transport error"] += 1
            tally.errors[kind] += 1
            if len(tally.error_samples) < TORN_KEPT:
                tally.error_samples.append(f"{kind} {path}: {type(exc).__name__}: {exc}")
        return
    elapsed = (time.perf_counter() - t0) * 1000
    outcome: tuple[str, Any] | None = None
    if status == 200 and request.checks:
        try:
            outcome = check(request.checks, request.nct_id, body)
        except Exception as exc:
            outcome = ("torn", {"unreadable": f"{type(exc).__name__}: {exc}"})
    with tally.lock:
        tally.latencies[kind].append(elapsed)
        tally.statuses[str(status)] += 1
        if not (200 <= status < 300 or status == 304):
            tally.errors[kind] += 1
            if len(tally.error_samples) < TORN_KEPT:
                tally.error_samples.append(f"{kind} {path}: HTTP {status}: {body[:200]!r}")
        if outcome is not None:
            tally.seen[outcome[0]] += 1
            if outcome[0] == "torn" and len(tally.torn) < TORN_KEPT:
                tally.torn.append({"kind": kind, "path": path, "parts": outcome[1]})


def _run_sync(argv: list[str], env: Mapping[str, str]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False, timeout=SYNC_LIMIT_S)
    except subprocess.TimeoutExpired:
        return {"wall_s": time.monotonic() - started, "exit_code": None, "summary": "",
                "stderr_tail": f"stopped after {SYNC_LIMIT_S:.0f} s"}
    return {"wall_s": time.monotonic() - started, "exit_code": done.returncode,
            "summary": (done.stdout.strip().splitlines() or [""])[-1], "stderr_tail": done.stderr[-1500:]}


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """Return the median, 95th and 99th percentile of some latencies (ms)."""
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50_ms": statistics.median(ordered), "p95_ms": at(0.95), "p99_ms": at(0.99)}


def _figures(tally: Tally, wall: float, connections: int, rss: dict[str, Any],
             synced: dict[str, Any] | None) -> dict[str, Any]:
    every = [ms for values in tally.latencies.values() for ms in values]
    requests = sum(tally.statuses.values())
    kinds = {
        name: {"requests": len(values), "errors": tally.errors[name], **percentiles(values)}
        for name, values in sorted(tally.latencies.items())
    }
    for name, errors in tally.errors.items():
        kinds.setdefault(name, {"requests": 0, "errors": errors})
    result: dict[str, Any] = {
        "seconds": wall,
        "connections": connections,
        "requests": requests,
        "req_s": requests / wall if wall else 0.0,
        "errors": sum(tally.errors.values()),
        "error_samples": tally.error_samples,
        "statuses": dict(tally.statuses),
        **percentiles(every),
        "kinds": kinds,
        "consistency": {"checked": sum(tally.seen.values()), "old": tally.seen["old"], "new": tally.seen["new"],
                        "torn": tally.seen["torn"], "torn_samples": tally.torn},
        "worker_rss_mb": rss,
    }
    if synced is not None:
        result["sync"] = synced
    return result


class RssSampler:
    """Read the resident memory of a gunicorn master's workers once a second, from /proc (Linux)."""

    def __init__(self, master: int, every: float = 1.0) -> None:
        self.master = master
        self.every = every
        self.samples: list[tuple[float, dict[int, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0

    def start(self) -> None:
        """Begin sampling."""
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        """Take a last sample and stop."""
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def _sample(self) -> None:
        workers = {pid: rss for pid in worker_pids(self.master) if (rss := status_mb(pid, "VmRSS")) is not None}
        if workers:
            self.samples.append((time.monotonic() - self._started, workers))

    def figures(self) -> dict[str, Any]:
        """Summarise the samples: the workers' total at the start, the middle and the end, and the highest."""
        if not self.samples:
            return {}
        totals = [(t, sum(w.values())) for t, w in self.samples]
        middle = totals[len(totals) // 2]
        return {
            "start": totals[0][1], "middle": middle[1], "end": totals[-1][1],
            "max": max(total for _t, total in totals),
            "per_worker_end": sorted(self.samples[-1][1].values()),
            "workers_seen": len({pid for _t, w in self.samples for pid in w}),
            "samples": len(totals),
        }
