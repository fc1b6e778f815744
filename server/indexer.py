"""Bring the triple store in line with the SQL store: trial graphs, the vocabulary and change events.

The SQL store is the source of truth. Each trial's graph is written to the triple store first and
marked in SQL after, so a crash between the two only leaves work that the next reconcile redoes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pyoxigraph as ox

from . import graph
from .dates import utcnow
from .eventgraph import changes_graph, event_triples
from .indexstate import (
    count_indexed,
    events_after,
    forget_index,
    get_state,
    mark_indexed,
    pending_trials,
    set_state,
    update_span,
)
from .store import Store, StoredTrial
from .synclock import write_lock
from .triplestore import TripleStore, open_triplestore, serialize_rdf
from .vocabulary import load_vocabulary

log = logging.getLogger(__name__)

# A trial's current version -> N-Triples of its document graph.
RenderTrial = Callable[[StoredTrial], bytes]


def trial_graph(base_url: str, nct_id: str) -> str:
    """Return the IRI of a trial's named graph: the trial document."""
    return graph.document_url(base_url, nct_id)


def vocab_graph(base_url: str) -> str:
    """Return the IRI of the graph that holds the project's vocabulary: the vocabulary itself."""
    return load_vocabulary(base_url).document


def vocab_ntriples(base_url: str) -> bytes:
    """Return the vocabulary, rebased on the site, as N-Triples."""
    triples = ox.parse(load_vocabulary(base_url).turtle.encode(), ox.RdfFormat.TURTLE)
    return serialize_rdf(quad.triple for quad in triples)


def trial_renderers(config: Mapping[str, Any]) -> tuple[RenderTrial, Callable[[StoredTrial], dict[str, Any]]]:
    """Return what turns a stored trial into N-Triples and into its JSON-LD document.

    Both say what ``/trials/NCT….nt`` and ``….jsonld`` say: they come from the same document.
    """
    base_url, registry_url = config["BASE_URL"], config["REGISTRY_URL"]
    context = load_vocabulary(base_url).context

    def document(stored: StoredTrial) -> dict[str, Any]:
        return graph.stored_document(stored, base_url, registry_url, context)

    def ntriples(stored: StoredTrial) -> bytes:
        return graph.serialize(document(stored), graph.BY_EXTENSION["nt"])

    return ntriples, document


def _software_version() -> str:
    try:
        return version("trialpub")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class ReconcileSummary:
    """What a reconcile wrote."""

    written: int = 0
    removed: int = 0
    events: int = 0
    failed: list[str] = field(default_factory=list)  # "NCT…: reason"
    rebuilt: bool = False


def reconcile(
    store: Store,
    triples: TripleStore,
    render: RenderTrial,
    base_url: str,
    batch_size: int = 500,
    publish_every: float = 300.0,
    on_trial: Callable[[], None] | None = None,
    rebuild: bool = False,
) -> ReconcileSummary:
    """Write what the triple store lacks, drop what it should not hold, then publish.

    ``rebuild`` empties the triple store first and writes everything again.
    """
    summary = ReconcileSummary()
    # The trial graphs change with the release and the mapping's version, not only with the data.
    identity = f"{triples.identity} trialpub {_software_version()} graph {graph.RENDITION_VERSION} {base_url}"
    if (
        rebuild
        or get_state(store, "identity") != identity
        or (triples.is_empty() and count_indexed(store) > 0)
    ):
        # Another store, another release (whose graphs may differ) or a store deleted by hand.
        log.info("rebuilding the triple store from the SQL store")
        triples.clear()
        forget_index(store)
        set_state(store, "vocab", None)
        set_state(store, "identity", identity)
        summary.rebuilt = True
    last_publish = time.monotonic()
    for batch in pending_trials(store, batch_size):
        graphs: dict[str, bytes] = {}
        written: list[StoredTrial] = []
        removed: list[str] = []
        for trial in batch:
            if trial.removed_at is not None:
                removed.append(trial.nct_id)
                continue
            try:
                graphs[trial_graph(base_url, trial.nct_id)] = render(trial)
            except Exception as exc:
                # One record the graph code cannot handle must not hold up the others.
                log.exception("cannot build the graph of %s", trial.nct_id)
                summary.failed.append(f"{trial.nct_id}: {type(exc).__name__}: {exc}")
                continue
            written.append(trial)
            if on_trial:
                on_trial()
        triples.replace_graphs(graphs)
        triples.remove_graphs(trial_graph(base_url, nct_id) for nct_id in removed)
        mark_indexed(store, written, removed)
        summary.written += len(written)
        summary.removed += len(removed)
        if time.monotonic() - last_publish > publish_every:
            triples.publish()
            last_publish = time.monotonic()
    summary.events = _write_events(store, triples, base_url, batch_size)
    _write_vocab(store, triples, base_url)
    statistics = triples.statistics()
    first_update, last_update = update_span(store)
    set_state(
        store,
        "statistics",
        {
            "quads": statistics.quads,
            "graphs": statistics.graphs,
            "classes": statistics.classes,
            "trials": count_indexed(store),
            "first_update": first_update,
            "last_update": last_update,
            "updated_at": utcnow().isoformat(),
        },
    )
    triples.publish()
    return summary


def _write_events(store: Store, triples: TripleStore, base_url: str, batch_size: int) -> int:
    upto = int(get_state(store, "events_upto") or 0)
    written = 0
    while events := events_after(store, upto, batch_size):
        # Event IRIs are stable, so adding a batch twice (after a crash) changes nothing.
        triples.add_to_graph(changes_graph(base_url), serialize_rdf(event_triples(events, base_url)))
        upto = events[-1].id or upto
        set_state(store, "events_upto", upto)
        written += len(events)
    return written


def _write_vocab(store: Store, triples: TripleStore, base_url: str) -> None:
    ntriples = vocab_ntriples(base_url)
    digest = hashlib.sha256(ntriples).hexdigest()
    if get_state(store, "vocab") != digest:
        triples.replace_graphs({vocab_graph(base_url): ntriples})
        set_state(store, "vocab", digest)


def reconcile_app(
    config: Mapping[str, Any],
    store: Store,
    on_trial: Callable[[], None] | None = None,
    rebuild: bool = False,
) -> ReconcileSummary:
    """Reconcile the configured triple store with the store; the caller holds the write lock."""
    render, _ = trial_renderers(config)
    triples = open_triplestore(config)
    try:
        return reconcile(
            store,
            triples,
            render,
            config["BASE_URL"],
            batch_size=config["LOAD_BATCH_SIZE"],
            publish_every=config["TRIPLESTORE_PUBLISH_INTERVAL"],
            on_trial=on_trial,
            rebuild=rebuild,
        )
    finally:
        triples.close()


def reconcile_locked(
    config: Mapping[str, Any],
    store: Store,
    on_trial: Callable[[], None] | None = None,
    rebuild: bool = False,
    wait: bool = False,
) -> ReconcileSummary:
    """Reconcile under the store's write lock; raise SyncLocked if a load or sync holds it.

    A writer that holds the lock reconciles when it ends, so not waiting loses nothing.
    """
    with write_lock(store.engine, wait=wait):
        return reconcile_app(config, store, on_trial, rebuild)
