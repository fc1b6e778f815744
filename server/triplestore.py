"""The SPARQL store: embedded Oxigraph by default, a remote SPARQL 1.1 store for scale.

Only load, sync and reindex write it; queries read the snapshots it publishes (``snapshots``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from .errors import TripleStoreUnavailable
from .snapshots import SnapshotReader, publish_snapshot

CLASS_COUNTS = "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?c } } GROUP BY ?c"


@dataclass(frozen=True)
class Statistics:
    """What the triple store holds, for the dataset description."""

    quads: int
    graphs: int
    classes: dict[str, int]  # class IRI -> number of distinct instances


class TripleStore(Protocol):
    """Where trial graphs are written: the embedded store or a remote one."""

    identity: str  # names this store, so switching stores is noticed and triggers a rebuild

    def replace_graphs(self, graphs: Mapping[str, bytes]) -> None:
        """Make each named graph hold exactly the given N-Triples."""

    def add_to_graph(self, graph: str, ntriples: bytes) -> None:
        """Add N-Triples to a named graph, keeping what it holds."""

    def remove_graphs(self, graphs: Iterable[str]) -> None:
        """Remove named graphs; a graph that is not there is no error."""

    def clear(self) -> None:
        """Remove everything."""

    def is_empty(self) -> bool:
        """Say whether the store holds no triple at all."""

    def statistics(self) -> Statistics:
        """Count what the store holds."""

    def iter_graph_ntriples(self) -> Iterator[bytes]:
        """Yield the whole store as N-Triples, a chunk at a time."""

    def publish(self) -> None:
        """Make what was written visible to queries."""

    def close(self) -> None:
        """Release the store."""


def oxigraph_root(data_dir: str | Path) -> Path:
    """Return the directory of the embedded store."""
    return Path(data_dir) / "oxigraph"


class OxigraphStore:
    """The embedded store, opened for writing by one process at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.identity = f"oxigraph:{root.resolve()}"
        (root / "snapshots").mkdir(parents=True, exist_ok=True)
        try:
            self.store = ox.Store(str(root / "primary"))
        except OSError as exc:
            raise TripleStoreUnavailable(
                f"cannot open the triple store at {root / 'primary'} for writing "
                f"(another trialpub load, sync or reindex may be running): {exc}"
            ) from None

    def replace_graphs(self, graphs: Mapping[str, bytes]) -> None:
        # Oxigraph's own parser reads the bytes (plain strings stay plain, no Python object per
        # triple), the whole batch in one transaction. Readers see snapshots taken between
        # batches, never a half-replaced graph; a crash here leaves the SQL side unmarked, so the
        # next reconcile writes these graphs again.
        if not any(self.store.contains_named_graph(ox.NamedNode(graph)) for graph in graphs):
            # None of these graphs is there yet (a first fill, a rebuild): Oxigraph's bulk loader
            # writes table files directly, for about half the CPU of a transaction. It is not
            # atomic, but only snapshots are read, and a batch cut short is not marked on the
            # SQL side, so the next reconcile finds its graphs present and replaces them whole.
            self.store.bulk_load(as_nquads(graphs), ox.RdfFormat.N_QUADS)
            return
        for graph in graphs:
            self.store.remove_graph(ox.NamedNode(graph))
        self.store.load(as_nquads(graphs), ox.RdfFormat.N_QUADS)

    def add_to_graph(self, graph: str, ntriples: bytes) -> None:
        self.store.load(ntriples, ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))

    def remove_graphs(self, graphs: Iterable[str]) -> None:
        for graph in graphs:
            name = ox.NamedNode(graph)
            if self.store.contains_named_graph(name):
                self.store.remove_graph(name)

    def clear(self) -> None:
        self.store.clear()

    def is_empty(self) -> bool:
        return not bool(self.store.query("ASK { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"))

    def statistics(self) -> Statistics:
        solutions = self.store.query(CLASS_COUNTS)
        assert isinstance(solutions, ox.QuerySolutions)
        classes = {
            solution["c"].value: int(solution["n"].value)
            for solution in solutions
            if isinstance(solution["c"], ox.NamedNode)
        }
        graphs = sum(1 for _ in self.store.named_graphs())
        return Statistics(quads=len(self.store), graphs=graphs, classes=classes)

    def iter_graph_ntriples(self) -> Iterator[bytes]:
        yield from iter_ntriples(self.store)

    def publish(self) -> None:
        """Checkpoint the store into a new snapshot and point queries at it."""
        publish_snapshot(self.store, self.root)

    def close(self) -> None:
        del self.store


# One N-Triples line: a subject without blanks, a predicate IRI, the object, the final dot.
_NT_LINE = re.compile(rb"^(\S+) (<[^>]*>) (.+?)\s*\.$")


def as_nquads(graphs: Mapping[str, bytes]) -> bytes:
    """Put N-Triples documents into named graphs, as one N-Quads document.

    Blank node labels get a suffix of their graph's own, so two documents' ``_:b0`` stay apart.
    A document with a line of another shape (a comment after the dot) goes through the parser.
    """
    out: list[bytes] = []
    for graph, ntriples in graphs.items():
        name = f"<{graph}>".encode()
        tag = b"_" + secrets.token_hex(8).encode()
        lines: list[bytes] = []
        for raw in ntriples.splitlines():
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            match = _NT_LINE.match(line)
            if match is None:
                lines = _parsed_nquads(graph, ntriples)
                break
            subject, predicate, obj = match.groups()
            subject += tag if subject.startswith(b"_:") else b""
            obj += tag if obj.startswith(b"_:") else b""
            lines.append(b" ".join((subject, predicate, obj, name, b".\n")))
        out.extend(lines)
    return b"".join(out)


def _parsed_nquads(graph: str, ntriples: bytes) -> list[bytes]:
    fresh: dict[str, ox.BlankNode] = {}

    def own(term: Any) -> Any:
        return fresh.setdefault(term.value, ox.BlankNode()) if isinstance(term, ox.BlankNode) else term

    name = ox.NamedNode(graph)
    quads = [
        ox.Quad(own(q.subject), q.predicate, own(q.object), name)
        for q in ox.parse(ntriples, ox.RdfFormat.N_TRIPLES)
    ]
    return [ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b""]


def serialize_rdf(
    triples: Iterable[ox.Triple],
    rdf_format: ox.RdfFormat = ox.RdfFormat.N_TRIPLES,
    prefixes: dict[str, str] | None = None,
) -> bytes:
    """Serialise triples to bytes with Oxigraph's writers."""
    body = ox.serialize(triples, format=rdf_format, prefixes=prefixes)
    assert body is not None  # without an output file, serialize returns the bytes
    return body


def iter_ntriples(store: ox.Store, chunk: int = 20_000) -> Iterator[bytes]:
    """Yield every quad of a store as N-Triples (graph names dropped), in bounded chunks."""
    batch: list[ox.Triple] = []
    for quad in store.quads_for_pattern(None, None, None, None):
        batch.append(quad.triple)
        if len(batch) >= chunk:
            yield serialize_rdf(batch)
            batch = []
    if batch:
        yield serialize_rdf(batch)


def export_ntriples(config: Mapping[str, Any]) -> Iterator[bytes]:
    """Yield everything queries see, as N-Triples: the newest snapshot, or the remote store's graphs."""
    if config["TRIPLESTORE"] == "remote":
        remote = open_triplestore(config)
        try:
            yield from remote.iter_graph_ntriples()
        finally:
            remote.close()
        return
    reader = SnapshotReader(oxigraph_root(config["DATA_DIR"]))
    store = reader.store()
    if store is None:
        raise TripleStoreUnavailable("the triple store is not built yet: load trials, or run `trialpub reindex`")
    try:
        yield from iter_ntriples(store)
    finally:
        reader.close()


def open_triplestore(config: Mapping[str, Any]) -> TripleStore:
    """Open the configured store for writing."""
    if config["TRIPLESTORE"] == "remote":
        from .remotestore import RemoteStore

        return RemoteStore.from_config(config)
    if config["TRIPLESTORE"] != "oxigraph":
        raise TripleStoreUnavailable(
            f"triplestore must be \"oxigraph\" or \"remote\", not {config['TRIPLESTORE']!r}"
        )
    return OxigraphStore(oxigraph_root(config["DATA_DIR"]))
