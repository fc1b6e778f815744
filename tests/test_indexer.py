"""Reconciling the triple store with the SQL store: complete, incremental, and repaired after a crash."""

import datetime as dt
import json
from pathlib import Path

import pyoxigraph as ox
import pytest
import sqlalchemy as sa

from server import tables as t
from server.indexer import reconcile, trial_graph
from server.indexstate import count_indexed
from server.load import load_paths
from server.snapshots import SnapshotReader
from server.triplestore import OxigraphStore

from .conftest import STUDIES, VERSIONS
from .sparql_support import SCHEMA, renderers, study_type_counts

BASE = "http://127.0.0.1:8000"
SOME = sorted(STUDIES.glob("*.json"))[:30]


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it on the way."""


def graphs(root: Path) -> dict[str, set]:
    reader = SnapshotReader(root)
    store = reader.store()
    assert store is not None
    found: dict[str, set] = {}
    for quad in store.quads_for_pattern(None, None, None, None):
        triple = (quad.subject, quad.predicate, quad.object)
        # Blank nodes get fresh labels on every write; compare them as blanks.
        found.setdefault(quad.graph_name.value, set()).add(
            tuple("_" if isinstance(term, ox.BlankNode) else str(term) for term in triple)
        )
    reader.close()
    return found


def statuses(root: Path) -> dict[str, str]:
    reader = SnapshotReader(root)
    store = reader.store()
    query = "SELECT ?t ?status WHERE { ?t <https://schema.org/status> ?status }"
    found = {
        s["t"].value.split("/trials/")[1].removesuffix("#trial"): s["status"].value.removeprefix(SCHEMA)
        for s in store.query(query, use_default_graph_as_union=True)
    }
    reader.close()
    return found


def test_every_current_trial_gets_its_graph(store, tmp_path: Path):
    load_paths(store, SOME)
    triples = OxigraphStore(tmp_path / "ox")
    summary = reconcile(store, triples, renderers(BASE)[0], BASE, batch_size=7)
    assert summary.written == 30 and summary.rebuilt and not summary.failed
    held = graphs(tmp_path / "ox")
    expected = {trial_graph(BASE, p.stem) for p in SOME} | {f"{BASE}/vocab"}
    assert set(held) == expected
    again = reconcile(store, triples, renderers(BASE)[0], BASE)
    assert again.written == 0 and not again.rebuilt
    triples.close()


def test_a_new_version_replaces_only_its_trials_graph(store, tmp_path: Path):
    first, second = sorted((VERSIONS / "NCT07227597").glob("*.json"))
    load_paths(store, [first, *SOME[:5]])
    triples = OxigraphStore(tmp_path / "ox")
    reconcile(store, triples, renderers(BASE)[0], BASE)
    assert statuses(tmp_path / "ox")["NCT07227597"] == "NotYetRecruiting"
    load_paths(store, [second])
    summary = reconcile(store, triples, renderers(BASE)[0], BASE)
    assert summary.written == 1
    assert statuses(tmp_path / "ox")["NCT07227597"] == "Recruiting"
    assert sum(1 for status in statuses(tmp_path / "ox").values()) == 6
    triples.close()


def test_a_crash_midway_is_repaired_by_the_next_reconcile(store, tmp_path: Path):
    load_paths(store, SOME)
    good = renderers(BASE)[0]
    seen = []

    def dies_on_the_twelfth(stored):
        seen.append(stored.nct_id)
        if len(seen) == 12:
            raise Crash
        return good(stored)

    triples = OxigraphStore(tmp_path / "ox")
    with pytest.raises(Crash):
        reconcile(store, triples, dies_on_the_twelfth, BASE, batch_size=5)
    # Two batches got into both stores before the crash.
    assert count_indexed(store) == 10
    # The crashed writer wrote the third batch's first graphs to neither store; what is there
    # is what a clean run gives.
    summary = reconcile(store, triples, good, BASE, batch_size=5)
    assert summary.written == 20
    triples.close()
    clean = OxigraphStore(tmp_path / "clean")
    store_graphs = graphs(tmp_path / "ox")
    reconcile(store, clean, good, BASE, rebuild=True)
    clean.close()
    assert store_graphs == graphs(tmp_path / "clean")


def test_graphs_written_but_not_marked_are_written_again(store, tmp_path: Path):
    load_paths(store, SOME[:4])
    render = renderers(BASE)[0]
    triples = OxigraphStore(tmp_path / "ox")
    reconcile(store, triples, render, BASE)
    # As if the process died after the triple store committed a newer graph but before SQL did.
    with store.engine.begin() as conn:
        conn.execute(t.indexed_trials.update().where(t.indexed_trials.c.nct_id == SOME[0].stem).values(content_hash="0" * 64))
    summary = reconcile(store, triples, render, BASE)
    assert summary.written == 1
    triples.close()


def test_a_failing_record_does_not_hold_up_the_others(store, tmp_path: Path):
    load_paths(store, SOME[:6])
    good = renderers(BASE)[0]

    def fails_on_one(stored):
        if stored.nct_id == SOME[2].stem:
            raise ValueError("no graph for this one")
        return good(stored)

    triples = OxigraphStore(tmp_path / "ox")
    summary = reconcile(store, triples, fails_on_one, BASE)
    assert summary.written == 5
    assert summary.failed == [f"{SOME[2].stem}: ValueError: no graph for this one"]
    assert reconcile(store, triples, good, BASE).written == 1
    triples.close()


def test_removed_trials_lose_their_graph(store, tmp_path: Path):
    load_paths(store, SOME[:3])
    triples = OxigraphStore(tmp_path / "ox")
    reconcile(store, triples, renderers(BASE)[0], BASE)
    with store.engine.begin() as conn:
        conn.execute(t.trials.update().where(t.trials.c.nct_id == SOME[1].stem).values(removed_at=dt.datetime.now(dt.UTC)))
    summary = reconcile(store, triples, renderers(BASE)[0], BASE)
    assert summary.removed == 1
    assert trial_graph(BASE, SOME[1].stem) not in graphs(tmp_path / "ox")
    assert count_indexed(store) == 2
    triples.close()


def test_change_events_are_queryable_rdf(store, tmp_path: Path):
    # Loading two real versions derives real events, among them NOT_YET_RECRUITING -> RECRUITING.
    load_paths(store, sorted((VERSIONS / "NCT07227597").glob("*.json")))
    held = store.events(limit=100)
    assert any(e.kind == "status" for e in held)
    triples = OxigraphStore(tmp_path / "ox")
    assert reconcile(store, triples, renderers(BASE)[0], BASE).events == len(held)
    assert reconcile(store, triples, renderers(BASE)[0], BASE).events == 0
    query = f"""PREFIX schema: <https://schema.org/> PREFIX tp: <{BASE}/vocab#>
    SELECT ?trial ?posted WHERE {{
      ?change tp:changeKind "status" ; tp:toValue "RECRUITING" ; tp:fromValue "NOT_YET_RECRUITING" ;
              tp:registryLastUpdate ?posted ; schema:object ?trial .
      FILTER(?posted >= "2026-02-01"^^<http://www.w3.org/2001/XMLSchema#date>)
    }}"""
    found = [(s["trial"].value, s["posted"].value) for s in triples.store.query(query, use_default_graph_as_union=True)]
    assert found == [(f"{BASE}/trials/NCT07227597#trial", "2026-02-20")]
    kinds = triples.store.query(f"SELECT ?kind WHERE {{ GRAPH <{BASE}/changes> {{ ?c <{BASE}/vocab#changeKind> ?kind }} }}")
    assert sorted(s["kind"].value for s in kinds) == sorted(e.kind for e in held)
    detail = list(triples.store.query(f'SELECT ?d WHERE {{ GRAPH ?g {{ ?c <{BASE}/vocab#changeKind> "site_status" ; <{BASE}/vocab#changeDetail> ?d }} }}'))
    assert {s["d"].datatype.value for s in detail} == {"http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON"}
    assert [json.loads(s["d"].value) for s in detail] == [next(e.detail for e in held if e.kind == "site_status")]
    triples.close()


def test_a_store_deleted_by_hand_or_another_base_is_rebuilt(store, tmp_path: Path):
    load_paths(store, SOME[:3])
    triples = OxigraphStore(tmp_path / "ox")
    reconcile(store, triples, renderers(BASE)[0], BASE)
    triples.clear()
    summary = reconcile(store, triples, renderers(BASE)[0], BASE)
    assert summary.rebuilt and summary.written == 3
    other = "https://trials.example"
    moved = reconcile(store, triples, renderers(other)[0], other)
    assert moved.rebuilt and moved.written == 3
    assert set(graphs(tmp_path / "ox")) == {trial_graph(other, p.stem) for p in SOME[:3]} | {f"{other}/vocab"}
    triples.close()


def test_statistics_are_kept_for_the_dataset_description(store, tmp_path: Path):
    from server.indexstate import get_state

    load_paths(store, SOME[:5])
    triples = OxigraphStore(tmp_path / "ox")
    reconcile(store, triples, renderers(BASE)[0], BASE)
    stats = get_state(store, "statistics")
    assert stats["trials"] == 5
    assert stats["quads"] == len(triples.store)
    expected = study_type_counts(SOME[:5], BASE)
    assert {c: n for c, n in stats["classes"].items() if c in expected} == expected
    with store.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(t.trials.c.last_update))).scalar()
    assert stats["last_update"] == last
    triples.close()
