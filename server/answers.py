"""Query answers written the same way whichever store ran the query: capped, in the asked format."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any, TypeVar

import pyoxigraph as ox

from .sparql import RESULTS_FORMATS, QueryAnswer, QueryRequest
from .triplestore import serialize_rdf

T = TypeVar("T")


def _capped(items: Iterable[T], limit: int) -> tuple[list[T], bool]:
    """Take at most ``limit`` items; say whether there were more (reading one past the limit at most)."""
    kept = list(islice(items, limit + 1))
    return kept[:limit], len(kept) > limit


def solutions_answer(names: list[str], rows: Iterable[Mapping[str, Any]], request: QueryRequest) -> QueryAnswer:
    """Write solutions (SPARQL 1.1 Results JSON bindings) in the asked format, at most ``max_rows``."""
    kept, truncated = _capped(rows, request.max_rows)
    body = json.dumps({"head": {"vars": names}, "results": {"bindings": kept}}, ensure_ascii=False).encode()
    if request.results_type != RESULTS_FORMATS["json"]:
        # Oxigraph's own writers make the other formats from the capped JSON.
        parsed = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
        body = parsed.serialize(format=ox.QueryResultsFormat.from_media_type(request.results_type)) or b""
    return QueryAnswer(body, request.results_type, "solutions", truncated)


def boolean_answer(value: bool, request: QueryRequest) -> QueryAnswer:
    """Write an ASK answer in the asked format."""
    parsed = ox.parse_query_results(json.dumps({"head": {}, "boolean": value}).encode(), ox.QueryResultsFormat.JSON)
    body = parsed.serialize(format=ox.QueryResultsFormat.from_media_type(request.results_type)) or b""
    return QueryAnswer(body, request.results_type, "boolean")


def graph_answer(triples: Iterable[ox.Triple], request: QueryRequest) -> QueryAnswer:
    """Write a CONSTRUCT or DESCRIBE answer in the asked format, at most ``max_rows`` triples."""
    kept, truncated = _capped(triples, request.max_rows)
    rdf_format = ox.RdfFormat.from_media_type(request.graph_type)
    assert rdf_format is not None  # the endpoint only asks for formats of its table
    body = serialize_rdf(kept, rdf_format, request.prefixes)
    return QueryAnswer(body, request.graph_type, "graph", truncated)
