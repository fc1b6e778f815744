"""A remote SPARQL 1.1 store: graphs written by the Graph Store HTTP Protocol, queries by the SPARQL Protocol."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx
import pyoxigraph as ox

from .answers import boolean_answer, graph_answer, solutions_answer
from .errors import TripleStoreUnavailable
from .sparql import (
    GRAPH_FORMATS,
    RESULTS_FORMATS,
    EndpointUnavailable,
    QueryAnswer,
    QueryRequest,
    QuerySyntaxError,
    QueryTimeout,
    check_store_extensions,
    query_form,
)
from .triplestore import Statistics

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
# N-Triples is Turtle too, and every Graph Store endpoint (Virtuoso's included) reads Turtle.
_SEND_AS = "text/turtle"


def client_for(config: Mapping[str, Any], timeout: float) -> httpx.Client:
    """Build the HTTP client for the remote store, with the configured authentication."""
    user, password = config["TRIPLESTORE_USER"], config["TRIPLESTORE_PASSWORD"]
    auth: httpx.Auth | None = None
    if user:
        scheme = config["TRIPLESTORE_AUTH"]
        if scheme not in ("basic", "digest"):
            raise TripleStoreUnavailable(f"triplestore_auth must be \"basic\" or \"digest\", not {scheme!r}")
        auth = httpx.DigestAuth(user, password) if scheme == "digest" else httpx.BasicAuth(user, password)
    return httpx.Client(auth=auth, timeout=timeout, headers={"User-Agent": "trialpub"})


class RemoteStore:
    """Writes the site's named graphs to a remote store; leaves every other graph there alone."""

    def __init__(self, graph_store_url: str, query_url: str, base_url: str, client: httpx.Client) -> None:
        if not graph_store_url or not query_url:
            raise TripleStoreUnavailable(
                "triplestore = \"remote\" needs triplestore_graph_store_url and triplestore_query_url"
            )
        self.graph_store_url = graph_store_url
        self.query_url = query_url
        self.prefix = base_url.rstrip("/") + "/"
        self.client = client
        self.identity = f"remote:{graph_store_url}"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RemoteStore:
        """Open the remote store the settings name; writes may take long, so allow a minute."""
        return cls(
            config["TRIPLESTORE_GRAPH_STORE_URL"],
            config["TRIPLESTORE_QUERY_URL"],
            config["BASE_URL"],
            client_for(config, timeout=60.0),
        )

    def _graph_request(self, method: str, graph: str, body: bytes | None = None) -> httpx.Response:
        headers = {"Content-Type": _SEND_AS} if body is not None else {}
        if method == "GET":
            # Only here: Virtuoso answers a DELETE that carries this Accept with 406.
            headers["Accept"] = GRAPH_FORMATS["nt"]
        try:
            response = self.client.request(
                method, self.graph_store_url, params={"graph": graph}, content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise TripleStoreUnavailable(f"cannot reach the graph store at {self.graph_store_url}: {exc}") from None
        if response.status_code >= 400 and not (response.status_code == 404 and method in ("DELETE", "GET")):
            raise TripleStoreUnavailable(
                f"the graph store answered {method} {graph} with {response.status_code}: {response.text[:300]}"
            )
        return response

    def _select(self, query: str) -> list[dict[str, Any]]:
        try:
            response = self.client.post(
                self.query_url, data={"query": query}, headers={"Accept": "application/sparql-results+json"}
            )
        except httpx.HTTPError as exc:
            raise TripleStoreUnavailable(f"cannot reach the SPARQL endpoint at {self.query_url}: {exc}") from None
        if response.status_code >= 400:
            raise TripleStoreUnavailable(
                f"the SPARQL endpoint answered {response.status_code}: {response.text[:300]}"
            )
        answer: dict[str, Any] = json.loads(response.content)
        bindings: list[dict[str, Any]] = answer["results"]["bindings"]
        return bindings

    def _ours(self) -> str:
        return f'FILTER(STRSTARTS(STR(?g), "{self.prefix}"))'

    def replace_graphs(self, graphs: Mapping[str, bytes]) -> None:
        for graph, ntriples in graphs.items():
            self._graph_request("PUT", graph, ntriples)

    def add_to_graph(self, graph: str, ntriples: bytes) -> None:
        self._graph_request("POST", graph, ntriples)

    def remove_graphs(self, graphs: Iterable[str]) -> None:
        for graph in graphs:
            self._graph_request("DELETE", graph)

    def our_graphs(self) -> list[str]:
        """List the site's graphs in the remote store."""
        rows = self._select(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {self._ours()} }}")
        return [row["g"]["value"] for row in rows]

    def clear(self) -> None:
        self.remove_graphs(self.our_graphs())

    def is_empty(self) -> bool:
        # Not ASK: Virtuoso 7 answers that as a table, not as a boolean.
        return not self._select(f"SELECT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {self._ours()} }} LIMIT 1")

    def statistics(self) -> Statistics:
        ours = self._ours()
        totals = self._select(
            f"SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?g) AS ?graphs) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {ours} }}"
        )[0]
        classes = self._select(
            "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE "
            f"{{ GRAPH ?g {{ ?s a ?c }} {ours} FILTER(isIRI(?c)) }} GROUP BY ?c"
        )
        return Statistics(
            quads=int(totals["n"]["value"]),
            graphs=int(totals["graphs"]["value"]),
            classes={row["c"]["value"]: int(row["n"]["value"]) for row in classes},
        )

    def iter_graph_ntriples(self) -> Iterator[bytes]:
        for graph in self.our_graphs():
            yield self._graph_request("GET", graph).content

    def publish(self) -> None:
        """Nothing to do: a remote store shows each write at once."""

    def close(self) -> None:
        self.client.close()


class RemoteQuery:
    """Sends the endpoint's queries to the remote store and writes its answers as the embedded store would.

    Answers are asked for as SPARQL Results JSON or N-Triples, which every store writes alike, then
    capped at ``max_rows`` and written in the asked format here. Stores differ in the rest:
    Virtuoso 7 writes ASK answers as a one-column table, and CONSTRUCT answers as a table too when
    results are asked for first.
    """

    def __init__(self, query_url: str, client: httpx.Client) -> None:
        self.query_url = query_url
        self.client = client

    def run(self, request: QueryRequest) -> QueryAnswer:
        """Run one query remotely; the remote store enforces its own time limit as well."""
        check_store_extensions(request.query)
        form = query_form(request.query)
        if form is None:
            # A start we do not read: pass the store's answer (or its syntax error) on as it is.
            response = self._post(request, f"{request.results_type}, {request.graph_type};q=0.9")
            media_type = response.headers.get("content-type", "").split(";")[0].strip()
            kind = "graph" if media_type in GRAPH_FORMATS.values() else "solutions"
            return QueryAnswer(body=response.content, media_type=media_type, form=kind)
        if form == "graph":
            response = self._post(request, GRAPH_FORMATS["nt"])
            return graph_answer(_triples(response), request)
        response = self._post(request, RESULTS_FORMATS["json"])
        try:
            answer = json.loads(response.content)
            if form == "boolean":
                return boolean_answer(_boolean(answer), request)
            return solutions_answer(answer["head"]["vars"], map(_standard_row, answer["results"]["bindings"]), request)
        except (ValueError, KeyError, TypeError) as exc:
            raise EndpointUnavailable(f"the triple store's answer could not be read: {exc}") from None

    def _post(self, request: QueryRequest, accept: str) -> httpx.Response:
        data: dict[str, Any] = {
            "query": request.query,
            "default-graph-uri": list(request.default_graphs),
            "named-graph-uri": list(request.named_graphs),
        }
        try:
            # Always a form: Virtuoso 7 never answers a body sent as application/sparql-query.
            response = self.client.post(self.query_url, data=data, headers={"Accept": accept})
        except httpx.TimeoutException:
            raise QueryTimeout("the query ran past this endpoint's time limit and was stopped") from None
        except httpx.HTTPError as exc:
            raise EndpointUnavailable(
                f"the SPARQL store is unavailable: the triple store cannot be reached ({type(exc).__name__}); "
                "pages, feeds and RDF documents still work"
            ) from None
        if response.status_code == 400:
            raise QuerySyntaxError(response.text[:2000])
        if response.status_code == 500 and "SR171" in response.text[:200]:
            # Virtuoso's MaxQueryExecutionTime ran out: "S1T00 Error SR171: Transaction timed out".
            raise QueryTimeout("the query ran past the triple store's time limit and was stopped")
        if response.status_code >= 400:
            raise EndpointUnavailable(f"the triple store answered {response.status_code}")
        return response


def _triples(response: httpx.Response) -> Iterator[ox.Triple]:
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    rdf_format = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.N_TRIPLES
    try:
        for quad in ox.parse(response.content, rdf_format):
            yield quad.triple
    except SyntaxError as exc:
        raise EndpointUnavailable(f"the triple store's answer could not be read: {exc}") from None


def _boolean(answer: dict[str, Any]) -> bool:
    if "boolean" in answer:
        return bool(answer["boolean"])
    # Virtuoso 7: one row whose only value is 1 for true, no row for false.
    rows: list[dict[str, Any]] = answer["results"]["bindings"]
    return any(value["value"] not in ("0", "false") for row in rows for value in row.values())


def _standard_row(row: dict[str, Any]) -> dict[str, Any]:
    """Write one row as SPARQL 1.1 Results JSON, whatever older dialect the store speaks."""
    return {name: _standard_term(term) for name, term in row.items()}


def _standard_term(term: dict[str, Any]) -> dict[str, Any]:
    kind = term.get("type")
    if kind == "typed-literal":  # SPARQL 1.0's draft JSON, which Virtuoso 7 still writes
        term = {**term, "type": "literal"}
    elif kind == "bnode":
        # Virtuoso names blank nodes "nodeID://b123", which no RDF syntax takes as a label.
        term = {**term, "value": re.sub(r"[^A-Za-z0-9]", "", term["value"]) or "b"}
    if term.get("datatype") == XSD_STRING:
        term = {key: value for key, value in term.items() if key != "datatype"}
    return term
