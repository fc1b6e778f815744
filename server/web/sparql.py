"""The SPARQL 1.1 Protocol endpoint: queries, the service description, and a query form for people."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Protocol

from flask import Blueprint, Flask, current_app, make_response, render_template, request
from werkzeug.wrappers import Response

from ..clientlimits import ClientLimits
from ..dates import utcnow
from ..sparql import (
    GRAPH_FORMATS,
    MEDIA_ALIASES,
    RESULTS_FORMATS,
    QueryAnswer,
    QueryProblem,
    QueryRequest,
    QuerySyntaxError,
    QueryTooLarge,
    UpdateRefused,
    check_query,
    format_pair,
    rdflib_format,
)
from .dataset import dataset_facts
from .examples import example_queries, prefixes

bp = Blueprint("sparql", __name__)

EXTENSION = "trialpub.sparql"
LIMITS = "trialpub.sparql_client_limits"
_lock = threading.Lock()
HTML = "text/html"


class QueryService(Protocol):
    """Whatever runs the endpoint's queries: the embedded store's query processes or a remote store."""

    def run(self, request: QueryRequest) -> QueryAnswer: ...


def query_service(app: Flask) -> QueryService:
    """Return the app's query service, started on first use (in the web worker, after any fork)."""
    with _lock:
        service: QueryService | None = app.extensions.get(EXTENSION)
        if service is None:
            service = _new_service(app)
            app.extensions[EXTENSION] = service
        return service


def client_limits(app: Flask) -> ClientLimits:
    """Return the app's per-client query limits."""
    with _lock:
        limits: ClientLimits | None = app.extensions.get(LIMITS)
        if limits is None:
            config = app.config
            limits = ClientLimits(
                Path(config["DATA_DIR"]), config["SPARQL_CLIENT_MAX_CONCURRENT"], config["SPARQL_CLIENT_PER_MINUTE"]
            )
            app.extensions[LIMITS] = limits
        return limits


def _new_service(app: Flask) -> QueryService:
    config = app.config
    if config["TRIPLESTORE"] == "remote":
        from ..remotestore import RemoteQuery, client_for

        return RemoteQuery(config["TRIPLESTORE_QUERY_URL"], client_for(config, timeout=config["SPARQL_TIMEOUT"]))
    from ..querypool import QueryPool
    from ..triplestore import oxigraph_root

    data_dir = config["DATA_DIR"]
    slots = Path(data_dir) / "sparql-slots"
    return QueryPool(oxigraph_root(data_dir), slots, config["SPARQL_MAX_CONCURRENT"], config["SPARQL_TIMEOUT"])


@bp.after_request
def open_to_all_origins(response: Response) -> Response:
    """Let pages on any site query the endpoint (CORS)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
    response.headers["Access-Control-Expose-Headers"] = "X-SPARQL-MaxRows"
    response.vary.add("Accept")
    return response


def _query_text(max_bytes: int) -> str | None:
    """Read the query from any of the protocol's three ways to send one."""
    if request.method == "GET":
        if "update" in request.args:
            raise UpdateRefused("this endpoint is read-only: SPARQL Update is not accepted")
        return request.args.get("query")
    # Percent-encoding triples a query's size at most; refuse larger bodies before reading them.
    if request.content_length is not None and request.content_length > 3 * max_bytes + 4096:
        raise QueryTooLarge(f"the request is {request.content_length:,} bytes; queries may be at most {max_bytes:,}")
    if request.mimetype == "application/sparql-update" or "update" in request.form:
        raise UpdateRefused("this endpoint is read-only: SPARQL Update is not accepted")
    if request.mimetype == "application/sparql-query":
        return request.get_data(as_text=True)
    return request.form.get("query")


def _negotiate() -> tuple[str, str, bool]:
    """Choose the results and graph media types, and whether a person in a browser is asking."""
    name = request.values.get("format")
    if name and name.strip().lower() == "html":
        return RESULTS_FORMATS["json"], GRAPH_FORMATS["ttl"], True
    if name:
        pair = format_pair(name)
        if pair is None:
            raise QueryProblem(
                f"unknown format {name[:40]!r}; use one of json, xml, csv, tsv, ttl, nt, jsonld, rdf"
            )
        return pair[0], pair[1], False
    accept = request.accept_mimetypes
    results = [*RESULTS_FORMATS.values(), *(k for k, v in MEDIA_ALIASES.items() if v in RESULTS_FORMATS.values())]
    graphs = [*GRAPH_FORMATS.values(), *(k for k, v in MEDIA_ALIASES.items() if v in GRAPH_FORMATS.values())]
    best_results = accept.best_match(results)
    best_graph = accept.best_match(graphs)
    html = accept.best_match([*results, *graphs, HTML]) == HTML
    return (
        MEDIA_ALIASES.get(best_results or "", best_results or RESULTS_FORMATS["json"]),
        MEDIA_ALIASES.get(best_graph or "", best_graph or GRAPH_FORMATS["ttl"]),
        html,
    )


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint() -> Response | str:
    """Answer a SPARQL query; without one, describe the service (or show the form)."""
    if request.method == "OPTIONS":
        return Response(status=204)
    config = current_app.config
    base = config["BASE_URL"]
    query = _query_text(config["SPARQL_MAX_QUERY_BYTES"])
    results_type, graph_type, html = _negotiate()
    if not query:
        if html:
            return _form_page(None)
        description = _service_description()
        return Response(description.serialize(format=rdflib_format(graph_type)), mimetype=graph_type)
    if html:
        # A person reads JSON results as a table and graphs as Turtle.
        results_type, graph_type = RESULTS_FORMATS["json"], GRAPH_FORMATS["ttl"]
    try:
        check_query(query, config["SPARQL_MAX_QUERY_BYTES"])
        with client_limits(current_app).admit(request.remote_addr or ""):
            answer = query_service(current_app).run(
                QueryRequest(
                    query=query,
                    results_type=results_type,
                    graph_type=graph_type,
                    default_graphs=tuple(request.values.getlist("default-graph-uri")),
                    named_graphs=tuple(request.values.getlist("named-graph-uri")),
                    max_rows=config["SPARQL_MAX_ROWS"],
                    prefixes=prefixes(base),
                )
            )
    except QueryProblem as problem:
        if not html:
            raise
        page = make_response(_form_page(query, problem=problem), problem.status)
        if problem.retry_after is not None:
            page.headers["Retry-After"] = str(problem.retry_after)
        return page
    if html:
        return _form_page(query, answer=_readable(answer), max_rows=config["SPARQL_MAX_ROWS"])
    response = Response(answer.body, mimetype=answer.media_type)
    if answer.truncated:
        response.headers["X-SPARQL-MaxRows"] = str(config["SPARQL_MAX_ROWS"])
    return response


def _form_page(query: str | None, **shown: Any) -> str:
    """Render the query form, with the examples and whatever answer or problem there is."""
    examples = example_queries(current_app.config["BASE_URL"], utcnow().date())
    context: dict[str, Any] = {"answer": None, "problem": None, **shown}
    return render_template("sparql.html", query=query, examples=examples, **context)


def _readable(answer: QueryAnswer) -> dict[str, Any]:
    """Turn an answer into what the HTML page shows: a table, a yes/no, or Turtle text."""
    if answer.form == "graph":
        return {"form": "graph", "text": answer.body.decode(), "truncated": answer.truncated}
    try:
        data = json.loads(answer.body)
    except ValueError:
        raise QuerySyntaxError("the triple store's answer could not be read") from None
    if "boolean" in data:
        return {"form": "boolean", "value": data["boolean"], "truncated": False}
    names: list[str] = data["head"]["vars"]
    rows = [[row.get(name) for name in names] for row in data["results"]["bindings"]]
    return {"form": "solutions", "vars": names, "rows": rows, "truncated": answer.truncated}


def _service_description() -> Any:
    from ..dataset import service_description

    return service_description(dataset_facts(current_app))
