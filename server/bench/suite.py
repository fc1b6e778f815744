"""The benchmark suite: build a synthetic registry, run each measured step, gather the figures."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..resources import resource_path
from ..store import engine_for
from .fakeregistry import fake_registry
from .measure import Measured, disk_usage, run_step
from .serving import Target, fetch, gunicorn, hammer, worker_peak_rss
from .synth import nct_id

REGISTRY_SIZE = 600_000
CHANGES = 5_000
RDFLIB_SUBSET = 20_000
Echo = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    """How the suite runs."""

    size: int = 20_000
    full: bool = False  # also measure at REGISTRY_SIZE
    database_url: str = ""  # PostgreSQL to measure on (a schema of its own); empty: SQLite
    workdir: Path | None = None
    keep: bool = False
    seed: int = 1
    serve_seconds: float = 10.0
    sources: Path | None = None
    load: bool = False  # mixed traffic at the largest size, alone and under a concurrent sync
    load_seconds: float = 60.0

    def sizes(self) -> list[int]:
        # A tenth of the size too: two points show whether memory stays flat and give the slope.
        small = max(self.size // 10, 100)
        return sorted({small, self.size} | ({REGISTRY_SIZE} if self.full else set()))


def run_suite(options: Options, echo: Echo) -> dict[str, Any]:
    """Run every step at every size; return the figures."""
    figures: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(options.database_url),
        "options": {"size": options.size, "full": options.full, "seed": options.seed,
                    "database": "postgresql" if options.database_url else "sqlite"},
        "sizes": {},
    }
    root = Path(tempfile.mkdtemp(prefix="trialpub-bench-", dir=options.workdir))
    try:
        for size in options.sizes():
            with _database(options.database_url) as url:
                figures["sizes"][str(size)] = _at_size(options, size, root / str(size), url, echo)
    finally:
        if options.keep:
            echo(f"kept the synthetic registry and stores in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return figures


def _at_size(options: Options, size: int, folder: Path, database_url: str, echo: Echo) -> dict[str, Any]:
    changes = min(CHANGES, size // 4)
    sources = options.sources or resource_path("sample", "studies")
    env = {"TRIALPUB_DATA_DIR": str(folder / "data"), "TRIALPUB_DATABASE_URL": database_url}
    result: dict[str, Any] = {"size": size, "changes": changes}

    echo(f"[{size:,}] generating the synthetic registry (two snapshots, {changes:,} changes)")
    under_load = options.load and size == options.size
    generated = run_step(["server.bench.steps", "generate", "--sources", str(sources), "--out", str(folder),
                          "--size", str(size), "--changes", str(changes), "--seed", str(options.seed),
                          *(["--day-3"] if under_load else [])])
    result["generate"] = {**_cost(generated), **generated.result}

    echo(f"[{size:,}] full load from the registry-style zip")
    loaded = run_step(["server.cli", "load", str(folder / "snapshot-1.zip")], env=env)
    result["load"] = {**_cost(loaded), "records_s": size / loaded.wall_s, "summary": loaded.stdout_tail}
    if importlib.util.find_spec("server.indexer") is not None:
        # Until `trialpub load` fills the triple store itself, the suite does it as load would.
        echo(f"[{size:,}] triple store: every trial's graph written to Oxigraph and published")
        indexed = run_step(["server.bench.steps", "index"], env=env)
        result["index"] = {**_cost(indexed), "records_s": size / indexed.wall_s, **indexed.result}
        result["load"]["sql_wall_s"] = loaded.wall_s
        result["load"]["wall_s"] = loaded.wall_s + indexed.wall_s
        result["load"]["records_s"] = size / result["load"]["wall_s"]
        result["load"]["peak_rss_mb"] = max(loaded.peak_rss_mb, indexed.peak_rss_mb)
    result["load"].update(_store_size(folder / "data", database_url))

    if importlib.util.find_spec("server.sync") is not None:
        echo(f"[{size:,}] full sync from a later snapshot with {changes:,} changed records")
        synced = run_step(["server.cli", "sync", "--from", str(folder / "snapshot-2.zip")], env=env)
        result["sync_full"] = {**_cost(synced), "records_s": size / synced.wall_s, "summary": synced.stdout_tail}
        echo(f"[{size:,}] incremental sync of {changes:,} changed records from a stand-in registry on 127.0.0.1")
        day = generated.result["day_3"]
        with fake_registry(folder / "updates-3.ndjson", f"{day}T09:00:00") as api:
            # The stand-in answers at once: no need to pace requests as for the real registry.
            registry = {"TRIALPUB_REGISTRY_URL": api, "TRIALPUB_REGISTRY_RATE_LIMIT": "100000"}
            incremental = run_step(["server.cli", "sync"], env={**env, **registry})
        result["sync_incremental"] = {**_cost(incremental), "records_s": changes / incremental.wall_s,
                                      "summary": incremental.stdout_tail}
    else:
        result["sync_full"] = result["sync_incremental"] = {"unavailable": "the sync is not on this branch yet"}

    if importlib.util.find_spec("server.triplestore") is not None:
        echo(f"[{size:,}] SPARQL: ten typical queries on Oxigraph, and on rdflib in memory with a subset")
        result["sparql"] = sparql(env, size, folder)
    else:
        result["sparql"] = {"unavailable": "the triple store is not on this branch yet"}

    echo(f"[{size:,}] render cost per trial per format")
    rendered = run_step(["server.bench.steps", "render", "--sample", "200"], env=env)
    result["render"] = rendered.result

    echo(f"[{size:,}] requests per second under gunicorn, 2 workers, {options.serve_seconds:.0f} s each")
    result["serve"] = serve(env, size, options.serve_seconds)
    if under_load:
        result.update(load(env, folder, changes, options.load_seconds, echo))
    return result


def load(env: dict[str, str], folder: Path, changes: int, seconds: float, echo: Echo) -> dict[str, Any]:
    """Run the mixed traffic twice: on a quiet store, then while a sync of ``changes`` records runs."""
    step = ["server.bench.steps", "load", "--seconds", str(seconds), "--connections", "32"]
    echo(f"mixed traffic, 32 connections, gunicorn with 2 workers, {seconds:.0f} s")
    quiet = run_step(step, env=env)
    echo(f"the same while a full sync brings {changes:,} changed records")
    later = ["--sync-from", str(folder / "snapshot-4.zip"), "--changed", str(folder / "manifest-4.json")]
    synced = run_step([*step, *later], env=env)
    return {"load_mix": quiet.result, "load_sync": synced.result}


def sparql(env: dict[str, str], size: int, folder: Path) -> dict[str, Any]:
    """Time the typical queries on the on-disk store, then Oxigraph against rdflib on one subset."""
    subset = min(size, RDFLIB_SUBSET)
    step = ["server.bench.steps", "sparql", "--engine"]
    disk = run_step([*step, "oxigraph-disk"], env=env)
    nquads = folder / "subset.nq"
    exported = run_step(["server.bench.steps", "export-subset", "--trials", str(subset), "--out", str(nquads)], env=env)
    in_memory = run_step([*step, "oxigraph-memory", "--nquads", str(nquads)], env=env)
    # rdflib takes seconds to minutes a query at this size: one run each, two minutes at most.
    rdflib = run_step([*step, "rdflib", "--nquads", str(nquads), "--repeat", "1"], env=env)
    nquads.unlink()
    ratios = []
    for name, fast in in_memory.result["queries"].items():
        slow = rdflib.result["queries"].get(name, {})
        slow_ms = slow.get("median_ms") or 1000.0 * (slow.get("timed_out_after_s") or 0)
        if fast.get("median_ms") and slow_ms:
            ratios.append(slow_ms / fast["median_ms"])
    return {
        "oxigraph_median_ms": disk.result["median_ms"],
        "subset": {**exported.result, "rdflib_load_s": rdflib.result["open_s"],
                   "rdflib_peak_rss_mb": rdflib.peak_rss_mb},
        # rdflib's time over Oxigraph's, query by query on the same subset; the median of those.
        "speedup": statistics.median(ratios) if ratios else None,
        "oxigraph_disk": disk.result,
        "oxigraph_subset": in_memory.result,
        "rdflib_subset": rdflib.result,
    }


def _cost(measured: Measured) -> dict[str, float]:
    return {"wall_s": measured.wall_s, "cpu_s": measured.cpu_s, "peak_rss_mb": measured.peak_rss_mb}


def serve(env: dict[str, str], size: int, seconds: float) -> dict[str, Any]:
    """Measure each kind of request against the trivial route of the same app."""
    # Spread requests over many trials, as crawlers do, not one hot page.
    ids = [nct_id(i) for i in range(0, size, max(1, size // 1000))]
    trial_paths = [f"/trials/{nct}" for nct in ids]
    out: dict[str, Any] = {}
    with gunicorn(env) as (url, master):
        port = int(url.rsplit(":", 1)[1])
        # A revalidation of the trial page, or of its JSON-LD if only the RDF formats carry an ETag.
        revalidated, headers = trial_paths[0], fetch(port, trial_paths[0])[1]
        if "etag" not in headers and "last-modified" not in headers:
            revalidated, headers = f"{trial_paths[0]}.jsonld", fetch(port, f"{trial_paths[0]}.jsonld")[1]
        slug = _a_condition(env)
        targets = [
            Target("ceiling", ["/bench/ping"], {}),
            Target("trial_html", trial_paths, {}),
            Target("trial_jsonld", [f"{p}.jsonld" for p in trial_paths], {}),
            Target("trial_turtle", [f"{p}.ttl" for p in trial_paths], {}),
            # One trial over and over: what the in-memory rendition cache gives when it hits.
            Target("trial_html_hot", trial_paths[:1], {}),
            Target("trial_jsonld_hot", [f"{trial_paths[0]}.jsonld"], {}),
            Target("trial_turtle_hot", [f"{trial_paths[0]}.ttl"], {}),
            Target("condition_feed", [f"/conditions/{slug}.atom"], {}),
        ]
        validator = (
            {"If-None-Match": headers["etag"]} if "etag" in headers
            else {"If-Modified-Since": headers["last-modified"]} if "last-modified" in headers
            else None
        )
        if validator:
            targets.append(Target("not_modified", [revalidated], validator, 304))
        else:
            out["not_modified"] = {"unavailable": "the trial page sends neither ETag nor Last-Modified"}
        for target in targets:
            out[target.name] = hammer(port, target, seconds)
        out["worker_peak_rss_mb"] = worker_peak_rss(master)
    ceiling = out["ceiling"].get("req_s") or 0.0
    for figures in out.values():
        if isinstance(figures, dict) and "req_s" in figures and ceiling:
            figures["ratio"] = figures["req_s"] / ceiling
    return out


def _a_condition(env: dict[str, str]) -> str:
    """Return the slug of the condition with the most trials."""
    from .. import tables as t

    url = env["TRIALPUB_DATABASE_URL"] or f"sqlite:///{Path(env['TRIALPUB_DATA_DIR']) / 'trialpub.sqlite3'}"
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            query = (sa.select(t.trial_conditions.c.slug).group_by(t.trial_conditions.c.slug)
                     .order_by(sa.func.count().desc()).limit(1))
            return str(conn.execute(query).scalar_one_or_none() or "none")
    finally:
        engine.dispose()


def _store_size(data_dir: Path, database_url: str) -> dict[str, int]:
    sqlite_files = sum(f.stat().st_size for f in data_dir.glob("*.sqlite3*"))
    sizes = {"data_dir_bytes": disk_usage(data_dir), "sqlite_bytes": sqlite_files}
    sizes["other_bytes"] = sizes["data_dir_bytes"] - sqlite_files  # the triple store, dumps
    if database_url:
        sizes["postgresql_bytes"] = _pg_size(database_url)
    return sizes


def _pg_size(url: str) -> int:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            query = sa.text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


@contextmanager
def _database(base_url: str) -> Iterator[str]:
    """Yield a fresh database URL: empty for SQLite (a file in the data dir), or a new PG schema."""
    if not base_url:
        yield ""
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = engine_for(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def machine(database_url: str = "") -> dict[str, Any]:
    """Describe the machine the figures were measured on."""
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }
    try:
        meminfo = Path("/proc/meminfo").read_text()
        info["memory_gb"] = round(int(meminfo.split()[1]) / 1024 / 1024, 1)
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line), None)
        info["cpu"] = model
    except OSError:
        pass
    info["load_average_at_start"] = os.getloadavg()[0]
    if database_url:
        engine = engine_for(database_url)
        try:
            with engine.connect() as conn:
                info["postgresql"] = conn.execute(sa.text("SHOW server_version")).scalar_one()
        finally:
            engine.dispose()
    return info
