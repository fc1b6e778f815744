"""Checks made on a query before any store sees it."""

import pytest

from server.sparql import (
    FederationRefused,
    QueryTooLarge,
    UpdateRefused,
    check_query,
    format_pair,
    uses_dataset_clause,
)

LIMIT = 10_000


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { service silent <http://127.0.0.1:9/> { ?s ?p ?o } }",
        "SELECT * WHERE { SERVICE<http://127.0.0.1:9/>{ ?s ?p ?o } }",
        "SELECT * WHERE { ?s ?p ?o .SERVICE#comment\n<http://127.0.0.1:9/> { ?s ?p ?o } }",
        "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }",
        r"SELECT * WHERE { \u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
        # A string that starts inside what a naive lexer would take for an IRI.
        "SELECT * { FILTER(1<2)'>x' ?p ?o . SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } 'y' ?p2 ?o2 }",
    ],
)
def test_federated_queries_are_refused(query):
    with pytest.raises(FederationRefused, match="SERVICE"):
        check_query(query, LIMIT)


@pytest.mark.parametrize(
    "query",
    [
        "PREFIX ex: <http://example.org/> SELECT ?service WHERE { ?service ex:service ?x }",
        'SELECT * WHERE { ?s ?p "HEALTH_SERVICES_RESEARCH" }',
        'SELECT * WHERE { ?s ?p ?o FILTER(CONTAINS(?o, "public service")) }',
        "SELECT * WHERE { ?s a <http://www.w3.org/ns/sparql-service-description#Service> }",
    ],
)
def test_the_word_service_elsewhere_is_no_federation(query):
    check_query(query, LIMIT)


@pytest.mark.parametrize(
    "query",
    [
        "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }",
        "PREFIX ex: <http://example.org/>\ndelete where { ?s ex:p ?o }",
        "# a comment\nDROP ALL",
        "LOAD <http://127.0.0.1:9/data.ttl>",
        "WITH <http://e/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    ],
)
def test_updates_are_refused(query):
    with pytest.raises(UpdateRefused) as caught:
        check_query(query, LIMIT)
    assert caught.value.status == 403


def test_oversize_queries_are_refused_by_byte_count():
    query = "SELECT * WHERE { ?s ?p " + '"' + "é" * 6000 + '" }'
    assert len(query) < LIMIT < len(query.encode())
    with pytest.raises(QueryTooLarge) as caught:
        check_query(query, LIMIT)
    assert caught.value.status == 413
    assert f"{LIMIT:,}" in caught.value.message


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM <http://e/g> WHERE { ?s ?p ?o }", True),
        ("PREFIX ex: <http://e/> SELECT * FROM ex:g WHERE { ?s ?p ?o }", True),
        ("SELECT * FROM NAMED <http://e/g> WHERE { GRAPH ?g { ?s ?p ?o } }", True),
        ("SELECT ?from WHERE { ?from ?p ?o }", False),
        ('SELECT * WHERE { ?s ?p "from a to b" }', False),
        ("SELECT * WHERE { ?s <http://e/from> ?o }", False),
    ],
)
def test_dataset_clauses_are_recognised(query, expected):
    assert uses_dataset_clause(query) is expected


@pytest.mark.parametrize(
    ("name", "results", "graph"),
    [
        ("json", "application/sparql-results+json", "application/ld+json"),
        ("xml", "application/sparql-results+xml", "application/rdf+xml"),
        ("CSV", "text/csv", "text/turtle"),
        ("turtle", "application/sparql-results+json", "text/turtle"),
        ("text/tab-separated-values", "text/tab-separated-values", "text/turtle"),
        ("application/n-triples", "application/sparql-results+json", "application/n-triples"),
    ],
)
def test_format_names_map_to_media_types(name, results, graph):
    assert format_pair(name) == (results, graph)


def test_unknown_format_is_none():
    assert format_pair("yaml") is None
