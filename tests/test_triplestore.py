"""The embedded store: named graphs replaced whole, snapshots published to readers, one writer."""

import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.errors import TripleStoreUnavailable
from server.snapshots import SnapshotReader, current_snapshot
from server.triplestore import OxigraphStore, iter_ntriples

G1 = "http://127.0.0.1:8000/trials/NCT00000001"
G2 = "http://127.0.0.1:8000/trials/NCT00000002"
NAME = "<http://schema.org/name>"


def nt(subject: str, name: str) -> bytes:
    return f'<{subject}#trial> {NAME} "{name}" .\n_:site <http://schema.org/addressCountry> "Spain" .\n'.encode()


def names(store: ox.Store) -> set[str]:
    query = f'SELECT ?name WHERE {{ GRAPH ?g {{ ?t {NAME} ?name }} }}'
    return {solution["name"].value for solution in store.query(query)}


def test_replacing_a_graph_drops_what_it_held(tmp_path: Path):
    store = OxigraphStore(tmp_path / "ox")
    store.replace_graphs({G1: nt(G1, "first"), G2: nt(G2, "other")})
    store.replace_graphs({G1: nt(G1, "second")})
    assert names(store.store) == {"second", "other"}
    # Blank nodes of different documents stay apart, and of a replaced document go with it.
    assert len(store.store) == 4
    assert len({q.subject for q in store.store if isinstance(q.subject, ox.BlankNode)}) == 2
    store.remove_graphs([G2, "http://127.0.0.1:8000/trials/NCT09999999"])
    assert names(store.store) == {"second"}
    store.close()


def test_plain_strings_match_plain_string_queries(tmp_path: Path):
    store = OxigraphStore(tmp_path / "ox")
    store.replace_graphs({G1: nt(G1, "Multiple Myeloma")})
    found = store.store.query(f'ASK {{ GRAPH ?g {{ ?t {NAME} "Multiple Myeloma" }} }}')
    typed = store.store.query(
        f'ASK {{ GRAPH ?g {{ ?t {NAME} "Multiple Myeloma"^^<http://www.w3.org/2001/XMLSchema#string> }} }}'
    )
    assert bool(found) and bool(typed)
    store.close()


def test_readers_see_published_snapshots_only(tmp_path: Path):
    root = tmp_path / "ox"
    writer = OxigraphStore(root)
    reader = SnapshotReader(root)
    assert reader.store() is None
    writer.replace_graphs({G1: nt(G1, "first")})
    writer.publish()
    first = reader.store()
    assert first is not None and names(first) == {"first"}
    writer.replace_graphs({G2: nt(G2, "second")})
    assert names(reader.store()) == {"first"}
    writer.publish()
    assert names(reader.store()) == {"first", "second"}
    reader.close()
    writer.close()


def test_snapshots_in_use_survive_pruning(tmp_path: Path):
    root = tmp_path / "ox"
    writer = OxigraphStore(root)
    writer.replace_graphs({G1: nt(G1, "first")})
    writer.publish()
    reader = SnapshotReader(root)
    held = reader.store()
    held_path = current_snapshot(root)
    for name in ("second", "third"):
        writer.replace_graphs({G1: nt(G1, name)})
        writer.publish()
    # The reader's snapshot is still there and still answers, though two newer ones were published.
    assert held_path is not None and held_path.is_dir()
    assert names(held) == {"first"}
    reader.close()
    writer.publish()
    snapshots = [p for p in (root / "snapshots").iterdir() if p.is_dir()]
    assert snapshots == [current_snapshot(root)]
    writer.close()


def test_a_second_writer_is_refused_clearly(tmp_path: Path):
    root = tmp_path / "ox"
    writer = OxigraphStore(root)
    other = subprocess.run(
        [sys.executable, "-c", f"from server.triplestore import OxigraphStore; OxigraphStore(__import__('pathlib').Path({str(root)!r}))"],
        capture_output=True, text=True, timeout=60,
    )
    assert other.returncode != 0
    assert "another trialpub load, sync or reindex may be running" in other.stderr
    with pytest.raises(TripleStoreUnavailable):
        OxigraphStore(root)
    writer.close()


def test_ntriples_export_loads_back_whole(tmp_path: Path):
    writer = OxigraphStore(tmp_path / "ox")
    writer.replace_graphs({G1: nt(G1, "first"), G2: nt(G2, "second")})
    fresh = ox.Store()
    for chunk in iter_ntriples(writer.store, chunk=1):
        fresh.load(chunk, ox.RdfFormat.N_TRIPLES)
    assert len(fresh) == len(writer.store) == 4
    writer.close()


def test_documents_of_any_ntriples_shape_are_written(tmp_path: Path):
    store = OxigraphStore(tmp_path / "ox")
    odd = b'<http://e/a> <http://e/p> "a dot . and _:x inside" .\n_:b0 <http://e/p> <http://e/a>  . # a comment\n\n'
    plain = b"_:b0 <http://e/p> <http://e/b> .\n<http://e/b> <http://e/q> _:b0 .\n"
    store.replace_graphs({G1: odd, G2: plain})
    assert len(store.store) == 4
    blanks = {q.graph_name.value: q.subject for q in store.store if isinstance(q.subject, ox.BlankNode)}
    assert blanks[G1] != blanks[G2]
    joined = store.store.query(f"ASK {{ GRAPH <{G2}> {{ ?x <http://e/p> <http://e/b> . <http://e/b> <http://e/q> ?x }} }}")
    assert bool(joined)
    literal = store.store.query(f'ASK {{ GRAPH <{G1}> {{ ?s ?p "a dot . and _:x inside" }} }}')
    assert bool(literal)
    store.close()


def test_a_first_fill_and_a_replacement_hold_the_same_quads(tmp_path: Path):
    graphs = {G1: nt(G1, "first"), G2: nt(G2, "other")}
    fresh = OxigraphStore(tmp_path / "fresh")
    fresh.replace_graphs(graphs)  # no graph there yet: written by the bulk loader
    replaced = OxigraphStore(tmp_path / "replaced")
    replaced.replace_graphs({G1: nt(G1, "before")})
    replaced.replace_graphs(graphs)  # G1 there already: removed and written in one transaction
    for store in (fresh, replaced):
        assert names(store.store) == {"first", "other"} and len(store.store) == 4
        assert {q.graph_name.value for q in store.store} == {G1, G2}
        store.close()
