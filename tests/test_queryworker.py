"""One query on Oxigraph: the union default graph, dataset clauses, formats and the row cap."""

import csv
import io
import json
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest
from rdflib import Graph

from server.queryworker import execute
from server.sparql import GRAPH_FORMATS, RESULTS_FORMATS, QueryRequest, QuerySyntaxError

G1, G2 = "http://e/g1", "http://e/g2"
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"


@pytest.fixture
def store() -> ox.Store:
    store = ox.Store()
    store.load(b'<http://e/a> <http://e/p> "x" .\n<http://e/a> <http://e/q> "y"@en .', ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(G1))
    store.load(b'<http://e/b> <http://e/p> "z" .\n<http://e/b> <http://e/n> "3"^^<http://www.w3.org/2001/XMLSchema#integer> .', ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(G2))
    return store


def subjects(store: ox.Store, query: str, **options) -> set[str]:
    answer = execute(store, QueryRequest(query=query, **options))
    data = json.loads(answer.body)
    return {row["s"]["value"] for row in data["results"]["bindings"]}


def test_default_graph_is_the_union(store):
    assert subjects(store, "SELECT DISTINCT ?s WHERE { ?s ?p ?o }") == {"http://e/a", "http://e/b"}


def test_from_clause_and_protocol_graphs_choose_the_dataset(store):
    assert subjects(store, f"SELECT DISTINCT ?s FROM <{G2}> WHERE {{ ?s ?p ?o }}") == {"http://e/b"}
    assert subjects(store, "SELECT DISTINCT ?s WHERE { ?s ?p ?o }", default_graphs=(G1,)) == {"http://e/a"}
    named = "SELECT DISTINCT ?s WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert subjects(store, named, named_graphs=(G2,)) == {"http://e/b"}


def test_plain_string_literals_match(store):
    assert subjects(store, 'SELECT ?s WHERE { ?s <http://e/p> "x" }') == {"http://e/a"}


QUERY = "SELECT ?s ?o WHERE { ?s ?p ?o } ORDER BY ?o"


@pytest.mark.parametrize("media_type", list(RESULTS_FORMATS.values()))
def test_every_results_format_parses(store, media_type):
    answer = execute(store, QueryRequest(query=QUERY, results_type=media_type))
    assert answer.media_type == media_type and answer.form == "solutions"
    text = answer.body.decode()
    if media_type.endswith("json"):
        rows = [row["o"]["value"] for row in json.loads(text)["results"]["bindings"]]
    elif media_type.endswith("xml"):
        root = ET.fromstring(text)
        rows = [b.find(f"{RESULTS_NS}literal").text for b in root.iter(f"{RESULTS_NS}binding") if b.get("name") == "o"]
    elif media_type == "text/csv":
        rows = [row["o"] for row in csv.DictReader(io.StringIO(text))]
    else:
        table = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
        assert table[0] == ["?s", "?o"]
        rows = [row[1] for row in table[1:]]
    assert sorted(r.split('"')[1] if r.startswith('"') else r for r in rows) == ["3", "x", "y", "z"]


@pytest.mark.parametrize("media_type", list(GRAPH_FORMATS.values()))
def test_every_graph_format_parses(store, media_type):
    answer = execute(store, QueryRequest(query="CONSTRUCT WHERE { ?s ?p ?o }", graph_type=media_type))
    assert answer.form == "graph"
    rdflib_format = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld", "application/rdf+xml": "xml"}[media_type]
    assert len(Graph().parse(data=answer.body, format=rdflib_format)) == 4


def test_ask_answers_a_boolean(store):
    answer = execute(store, QueryRequest(query='ASK { ?s <http://e/p> "z" }'))
    assert answer.form == "boolean" and json.loads(answer.body)["boolean"] is True


def test_the_row_cap_cuts_answers_short(store):
    capped = execute(store, QueryRequest(query=QUERY, max_rows=2, results_type="text/csv"))
    assert capped.truncated
    assert len(list(csv.reader(io.StringIO(capped.body.decode())))) == 3
    graph = execute(store, QueryRequest(query="CONSTRUCT WHERE { ?s ?p ?o }", max_rows=3, graph_type="application/n-triples"))
    assert graph.truncated and len(graph.body.splitlines()) == 3
    whole = execute(store, QueryRequest(query=QUERY, max_rows=4))
    assert not whole.truncated


def test_syntax_errors_carry_the_parsers_message(store):
    with pytest.raises(QuerySyntaxError, match=r"error at 1:\d+"):
        execute(store, QueryRequest(query="SELECT ?s WHERE { ?s ?p }"))
