"""SPARQL queries as the endpoint takes them: formats, limits and the checks made before running."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .graph import BY_MIMETYPE, RDF_FORMATS

# Media types of query results, by the name a ``format`` parameter may use.
RESULTS_FORMATS: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}


# Media types of graphs (CONSTRUCT and DESCRIBE answers, the service description, VoID), by
# file extension: the trial documents' own table, Turtle first as the answer to */*.
GRAPH_FORMATS: dict[str, str] = {
    f.extension: f.mimetype for f in sorted(RDF_FORMATS, key=lambda f: f.extension != "ttl")
}


def rdflib_format(media_type: str) -> str:
    """Return rdflib's name for a graph media type."""
    name = BY_MIMETYPE[media_type].rdflib
    assert name is not None  # graph media types all have one
    return name


# Other names clients send as ``format``: SPARQLWrapper's, file extensions, and "json"/"xml"
# meaning JSON-LD/RDF-XML for graphs.
_ALIASES: dict[str, tuple[str, str]] = {
    "json": ("json", "jsonld"),
    "xml": ("xml", "rdf"),
    "csv": ("csv", "ttl"),
    "tsv": ("tsv", "ttl"),
    "turtle": ("json", "ttl"),
    "ttl": ("json", "ttl"),
    "n3": ("json", "ttl"),
    "ntriples": ("json", "nt"),
    "nt": ("json", "nt"),
    "json-ld": ("json", "jsonld"),
    "jsonld": ("json", "jsonld"),
    "rdf": ("xml", "rdf"),
    "rdf+xml": ("xml", "rdf"),
    "rdfxml": ("xml", "rdf"),
}
# Media types accepted for the same answers under other names.
MEDIA_ALIASES: dict[str, str] = {
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
    "text/plain": "application/n-triples",
    "application/json+ld": "application/ld+json",
}


def format_pair(name: str) -> tuple[str, str] | None:
    """Map a ``format`` parameter (a name or a media type) to (results type, graph type)."""
    name = name.strip().lower()
    if name in _ALIASES:
        results, graph = _ALIASES[name]
        return RESULTS_FORMATS[results], GRAPH_FORMATS[graph]
    media = MEDIA_ALIASES.get(name, name)
    if media in RESULTS_FORMATS.values():
        return media, GRAPH_FORMATS["ttl"]
    if media in GRAPH_FORMATS.values():
        return RESULTS_FORMATS["json"], media
    return None


@dataclass(frozen=True)
class QueryRequest:
    """One query as the endpoint runs it, whatever store answers."""

    query: str
    results_type: str = RESULTS_FORMATS["json"]  # for SELECT and ASK
    graph_type: str = GRAPH_FORMATS["ttl"]  # for CONSTRUCT and DESCRIBE
    default_graphs: tuple[str, ...] = ()  # default-graph-uri; none means the union of all graphs
    named_graphs: tuple[str, ...] = ()  # named-graph-uri; none means every graph
    max_rows: int = 10_000
    prefixes: dict[str, str] = field(default_factory=dict)  # for readable Turtle answers


@dataclass(frozen=True)
class QueryAnswer:
    """A query's answer, serialised."""

    body: bytes
    media_type: str
    form: str  # solutions, boolean or graph
    truncated: bool = False  # the row cap cut the answer short


class QueryProblem(Exception):
    """A query the endpoint will not or cannot answer; ``status`` is the HTTP status to answer with."""

    status = 400
    # Seconds a client should wait before asking again (Retry-After), when waiting helps.
    retry_after: int | None = None

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class QuerySyntaxError(QueryProblem):
    """The query does not parse; the message is the parser's."""


class UpdateRefused(QueryProblem):
    """A SPARQL Update was sent to the read-only endpoint."""

    status = 403


class FederationRefused(QueryProblem):
    """A query asks for SERVICE or a store's extension, which could make the server fetch other sites."""


class QueryTooLarge(QueryProblem):
    """The query text is longer than the endpoint accepts."""

    status = 413


class QueryTimeout(QueryProblem):
    """The query ran past the time limit and was stopped."""

    status = 503
    retry_after = 5


class EndpointBusy(QueryProblem):
    """Every query slot is taken."""

    status = 503
    retry_after = 5


class TooManyQueries(QueryProblem):
    """One client has too many queries running, or sent too many this minute."""

    status = 429

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EndpointUnavailable(QueryProblem):
    """The triple store cannot answer (not built yet, or unreachable)."""

    status = 503
    retry_after = 5


_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# The keyword can only stand where the character before it cannot continue a name or a variable,
# and a SERVICE clause always has blank, comment, IRI or variable after the keyword. Text inside
# strings that looks like that is refused too: a false alarm costs a rewrite, a miss a request to
# an arbitrary site.
_SERVICE = re.compile(r"(?<![\w?$:/#\\-])service(?=[\s<?$#])", re.IGNORECASE)
_DATASET = re.compile(r"(?<![\w?$:/#\\-])from\s+(?:named\s+)?(?:<|[\w.-]*:)", re.IGNORECASE)
# What may stand before a query's or an update's first keyword: blanks, comments, PREFIX and BASE.
_PROLOGUE = r"^(?:\s|#[^\n]*\n|(?:prefix|base)\s[^<]*<[^>]*>)*"
_UPDATE = re.compile(_PROLOGUE + r"(?:insert|delete|load|clear|create|drop|copy|move|add|with)\b", re.IGNORECASE)
_FORM = re.compile(_PROLOGUE + r"(select|ask|construct|describe)\b", re.IGNORECASE)
_FORMS = {"select": "solutions", "ask": "boolean", "construct": "graph", "describe": "graph"}


def _unescape(query: str) -> str:
    return _CODEPOINT.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), query)


def check_query(query: str, max_bytes: int) -> None:
    """Refuse a query that is too long, federated or an update, before any store sees it."""
    size = len(query.encode())
    if size > max_bytes:
        raise QueryTooLarge(f"the query is {size:,} bytes; this endpoint accepts at most {max_bytes:,}")
    text = _unescape(query)
    if _SERVICE.search(text):
        raise FederationRefused(
            "federated queries (SERVICE) are not accepted here. If the word is inside a string, "
            'split it, e.g. CONCAT("ser", "vice").'
        )
    if _UPDATE.match(text):
        raise UpdateRefused("this endpoint is read-only: SPARQL Update is not accepted")


# Virtuoso's own extensions: built-in SQL functions by IRI (bif:http_get fetches any URL, as the
# anonymous user too) and DEFINE pragmas (some fetch sites). Standard SPARQL has neither.
_STORE_EXTENSION = re.compile(r"(?<![\w.-])(?:bif|sql):|(?<![\w?$:/#\\-])define\s+[\w-]+:", re.IGNORECASE)


def check_store_extensions(query: str) -> None:
    """Refuse a query that uses a store's own extensions, before a remote store sees it."""
    if _STORE_EXTENSION.search(_unescape(query)):
        raise FederationRefused(
            "store extensions (bif: and sql: functions, DEFINE) are not accepted here. If the text is "
            'inside a string, split it, e.g. CONCAT("bif", ":").'
        )


def query_form(query: str) -> str | None:
    """Say what a query answers with: "solutions", "boolean" or "graph"; None if its start says nothing."""
    found = _FORM.match(_unescape(query))
    return _FORMS[found.group(1).lower()] if found else None


def uses_dataset_clause(query: str) -> bool:
    """Say whether the query names its own dataset (FROM or FROM NAMED)."""
    return _DATASET.search(_unescape(query)) is not None
