"""The load step: mixed traffic against gunicorn on a loaded store, optionally while a sync rewrites trials."""

from __future__ import annotations

import os
import random
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import sqlalchemy as sa
from flask import Flask

from .. import graph
from .. import tables as t
from ..describe import Source
from ..store import Store, store_of
from ..trials import Trial, content_hash, parse_trial
from ..vocabulary import load_vocabulary
from .queries import choose_parameters, typical_queries
from .serving import fetch, gunicorn
from .synth import nct_id
from .traffic import Kind, Request, run_mix
from .versions import Expected, check, expect

WATCHED = 500  # trials the sync changes that readers watch, and as many it leaves alone
SPARQL_JSON = {"Accept": "application/sparql-results+json"}


def run_load(seconds: float, connections: int, snapshot: Path | None, manifest: Path | None) -> dict[str, Any]:
    """Serve the store with gunicorn (2 workers) and send the mix; with a snapshot, sync from it meanwhile."""
    from .. import create_app

    app = create_app()
    base = app.config["BASE_URL"]
    store = store_of(app)
    changed = sorted(orjson.loads(manifest.read_bytes())["ids"]) if manifest else []
    watched = _watched(store.count_trials(), changed)
    with app.app_context():
        versions, trials = _expectations(app, store, watched, snapshot)
    slugs = _top_conditions(store, 20)
    queries = typical_queries(choose_parameters(base, trials))
    sync = [sys.executable, "-m", "server.cli", "sync", "--from", str(snapshot)] if snapshot else None
    # Each connection stands for a client of its own behind one trusted proxy, so that the
    # per-client SPARQL limits apply as they would to that many visitors, not to one.
    with gunicorn({"TRIALPUB_TRUSTED_PROXIES": "1"}) as (url, master):
        port = int(url.rsplit(":", 1)[1])
        kinds = _mix(port, watched, slugs, list(queries.values()))

        def checker(fmt: str, nct: str, body: bytes) -> tuple[str, Any]:
            return check(fmt, nct, body, versions[nct], base)

        result = run_mix(port, kinds, seconds, connections, checker, master, sync, os.environ)
    result["watched"] = {"trials": len(watched), "changed_by_the_sync": sum(len(v) > 1 for v in versions.values())}
    result["mix"] = {kind.name: kind.weight for kind in kinds}
    return result


def _watched(size: int, changed: Sequence[str]) -> list[str]:
    """Pick the trials to read: some the sync changes, the rest spread over the registry."""
    picked = random.Random(0).sample(list(changed), min(WATCHED, len(changed)))
    step = max(1, size // (2 * WATCHED - len(picked)))
    spread = [nct_id(i) for i in range(0, size, step)]
    return sorted(set(picked) | set(spread[: 2 * WATCHED - len(picked)]))


def _expectations(
    app: Flask, store: Store, watched: Iterable[str], snapshot: Path | None
) -> tuple[dict[str, tuple[Expected, ...]], list[Trial]]:
    """Describe each watched trial's stored version, and the version the snapshot brings if it differs."""
    base, registry = app.config["BASE_URL"], app.config["REGISTRY_URL"]
    context = load_vocabulary(base).context
    archive = zipfile.ZipFile(snapshot) if snapshot else None
    names = set(archive.namelist()) if archive else set()
    out: dict[str, tuple[Expected, ...]] = {}
    trials: list[Trial] = []
    try:
        for nct in watched:
            stored = store.current(nct)
            trial = parse_trial(stored.record)
            trials.append(trial)
            document = graph.stored_document(stored, base, registry, context, trial)
            old = expect("old", document, graph.trial_triples(document), trial.overall_status)
            out[nct] = (old,)
            if archive is None or f"{nct}.json" not in names:
                continue
            record = orjson.loads(archive.read(f"{nct}.json"))
            digest = content_hash(record)
            if digest == stored.content_hash:
                continue
            new_trial = parse_trial(record)
            posted = new_trial.last_update_posted
            source = Source(base, digest, posted.date.isoformat() if posted else None, f"{registry}/studies/{nct}")
            document = graph.jsonld_document(new_trial, source, context)
            out[nct] = (old, expect("new", document, graph.trial_triples(document), new_trial.overall_status))
    finally:
        if archive is not None:
            archive.close()
    return out, trials


def _top_conditions(store: Store, limit: int) -> list[str]:
    slug = t.trial_conditions.c.slug
    query = sa.select(slug).group_by(slug).order_by(sa.func.count().desc(), slug).limit(limit)
    with store.connect() as conn:
        return [str(row) for row in conn.execute(query).scalars()]


def _mix(port: int, watched: Sequence[str], slugs: Sequence[str], queries: Sequence[str]) -> list[Kind]:
    """The kinds of request and how often each is sent, roughly as crawlers and feed readers ask."""
    trial = [f"/trials/{nct}" for nct in watched]
    pairs = list(zip(trial, watched, strict=True))
    negotiated = [
        Request(path, {"Accept": accept}, fmt, nct)
        for path, nct in pairs
        for accept, fmt in (("application/ld+json", "jsonld"), ("text/turtle", "ttl"))
    ]
    feeds = [f"/conditions/{slug}.atom" for slug in slugs]
    return [
        Kind("trial_html", 20, [Request(p, {}, "html", n) for p, n in pairs]),
        Kind("trial_jsonld", 15, [Request(f"{p}.jsonld", {}, "jsonld", n) for p, n in pairs]),
        Kind("trial_turtle", 10, [Request(f"{p}.ttl", {}, "ttl", n) for p, n in pairs]),
        Kind("trial_negotiated", 10, negotiated),
        Kind("condition_page", 10, [Request(f"/conditions/{slug}") for slug in slugs]),
        Kind("feed", 10, [Request(path) for path in feeds]),
        Kind("feed_if_none_match", 15, [Request(path, _validator(port, path)) for path in feeds]),
        Kind("sparql", 5, [Request("/sparql?" + urlencode({"query": q}), SPARQL_JSON) for q in queries]),
    ]


def _validator(port: int, path: str) -> Mapping[str, str]:
    """Return the conditional header a feed reader sends back: If-None-Match with the feed's ETag."""
    _status, headers, _body = fetch(port, path)
    if "etag" in headers:
        return {"If-None-Match": headers["etag"]}
    return {"If-Modified-Since": headers["last-modified"]} if "last-modified" in headers else {}
