"""Benchmark the embedded triple store's moving parts at registry scale (not collected by pytest).

    .venv/bin/python -m tests.bench_triplestore [TRIALS] [TRIPLES_PER_TRIAL]

Writes synthetic trial graphs (every fifth one recruiting in Spain) into a fresh store under a
temporary folder, then times what load/sync and the web workers do with it: writing batches of
graphs, publishing a snapshot, counting statistics, opening the snapshot read-only, the query
process's first and later answers, and how fast a runaway query is stopped.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import tempfile
import time
from pathlib import Path

from server.querypool import QueryPool
from server.snapshots import SnapshotReader
from server.sparql import QueryRequest, QueryTimeout
from server.triplestore import OxigraphStore

BASE = "http://127.0.0.1:8000"


def trial_ntriples(number: int, triples: int) -> bytes:
    node = f"<{BASE}/trials/NCT{number:08d}#trial>"
    status = "RECRUITING" if number % 5 == 0 else "COMPLETED"
    lines = [
        f"{node} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://schema.org/MedicalTrial> .",
        f'{node} <https://schema.org/status> "{status}" .',
        f'{node} <https://schema.org/name> "Synthetic trial number {number}" .',
    ]
    for site in range((triples - 3) // 3):
        site_node = f"<{BASE}/trials/NCT{number:08d}#site-{site}>"
        country = "Spain" if number % 5 == 0 and site == 0 else "France"
        lines += [
            f"{node} <https://schema.org/location> {site_node} .",
            f'{site_node} <https://schema.org/name> "Site {site} of trial {number}" .',
            f'{site_node} <https://schema.org/addressCountry> "{country}" .',
        ]
    return ("\n".join(lines) + "\n").encode()


def timed(label: str, action):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    print(f"{label:<48} {time.perf_counter() - started:8.3f} s")
    return result


def main(trials: int, per_trial: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "oxigraph"
        store = OxigraphStore(root)
        batch = 500
        started = time.perf_counter()
        for first in range(0, trials, batch):
            store.replace_graphs(
                {f"{BASE}/trials/NCT{n:08d}": trial_ntriples(n, per_trial) for n in range(first, min(first + batch, trials))}
            )
        elapsed = time.perf_counter() - started
        quads = len(store.store)
        print(f"{'write ' + str(trials) + ' graphs, batches of 500':<48} {elapsed:8.3f} s  ({quads:,} quads, {quads / elapsed:,.0f}/s)")
        timed("publish a snapshot", store.publish)
        stats = timed("statistics (quads, graphs, classes)", store.statistics)
        print(f"  {stats.quads:,} quads in {stats.graphs:,} graphs")
        timed("replace 2,000 graphs (a day of updates)", lambda: store.replace_graphs(
            {f"{BASE}/trials/NCT{n:08d}": trial_ntriples(n, per_trial) for n in range(0, 2000)}))
        timed("publish again", store.publish)
        reader = SnapshotReader(root)
        timed("open the snapshot read-only", reader.store)
        reader.close()
        pool = QueryPool(root, Path(folder) / "slots", slots=2, timeout=120.0)
        spain = QueryRequest(
            query='PREFIX schema: <https://schema.org/> SELECT (COUNT(DISTINCT ?t) AS ?n) WHERE { '
            '?t schema:status "RECRUITING" ; schema:location/schema:addressCountry "Spain" }'
        )
        timed("first query (process start + open + query)", lambda: pool.run(spain))
        answer = timed("same query again", lambda: pool.run(spain))
        print(f"  {answer.body.decode()[-60:]}")
        trivial = QueryRequest(query="ASK { ?s ?p ?o }")
        runs = 200
        started = time.perf_counter()
        for _ in range(runs):
            pool.run(trivial)
        print(f"{'round trip of a trivial query (mean of 200)':<48} {(time.perf_counter() - started) / runs * 1000:8.3f} ms")
        pool.timeout = 1.0
        started = time.perf_counter()
        with contextlib.suppress(QueryTimeout):
            pool.run(QueryRequest(query="SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"))
        print(f"{'runaway query stopped (timeout 1 s)':<48} {time.perf_counter() - started:8.3f} s")
        pool.timeout = 120.0
        timed("next query after the kill (new process)", lambda: pool.run(trivial))
        pool.close()
        store.close()
        size = sum(p.stat().st_size for p in (root / "primary").rglob("*") if p.is_file())
        print(f"primary store on disk: {size / 1e6:,.0f} MB; peak RSS of this process: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000, int(sys.argv[2]) if len(sys.argv) > 2 else 150)
