"""Helpers for the triple store and SPARQL tests: indexing an app, and a remote store server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask

from server.indexer import ReconcileSummary, reconcile_app, trial_renderers
from server.store import StoredTrial, store_of
from server.web.sparql import EXTENSION as QUERY_SERVICE

from .conftest import STUDIES, LiveServer, make_app


def renderers(base_url: str) -> tuple[Callable[[StoredTrial], bytes], Callable[[StoredTrial], dict]]:
    """The site's own trial graph and JSON-LD document, for a base URL."""
    return trial_renderers({"BASE_URL": base_url, "REGISTRY_URL": "https://clinicaltrials.gov/api/v2"})


def index_app(app: Flask) -> ReconcileSummary:
    """Bring the app's triple store in line with its SQL store, as load and sync do."""
    return reconcile_app(app.config, store_of(app))


def indexed_app(tmp_path: Path, database_url: str, trials: int, **settings: object) -> Flask:
    """An app holding the first fixture trials, indexed."""
    from server.load import load_paths

    app = make_app(tmp_path, database_url, **settings)
    load_paths(store_of(app), sorted(STUDIES.glob("*.json"))[:trials])
    index_app(app)
    return app


def stop_queries(app: Flask) -> None:
    """Stop the app's query processes."""
    service = app.extensions.pop(QUERY_SERVICE, None)
    if service is not None and hasattr(service, "close"):
        service.close()


def oxigraph_dir(app: Flask) -> Path:
    return Path(app.config["DATA_DIR"]) / "oxigraph"


class RemoteStoreServer:
    """A small SPARQL 1.1 store on 127.0.0.1, as Fuseki, Virtuoso or GraphDB would be reached.

    Graph Store HTTP Protocol at /data (basic authentication), SPARQL Protocol at /sparql with
    the union of all graphs as default graph. A query containing ``#sleep`` answers after 30 s,
    to stand for a store that is slow to answer.
    """

    USER, PASSWORD = "loader", "secret"

    def __init__(self) -> None:
        import pyoxigraph as ox

        self.ox = ox
        self.store = ox.Store()
        self.requests: list[tuple[str, str]] = []
        self.live = LiveServer(self.wsgi)  # type: ignore[arg-type]
        self.url = self.live.url

    def __enter__(self) -> RemoteStoreServer:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)

    def wsgi(self, environ, start_response):  # type: ignore[no-untyped-def]
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        self.requests.append((request.method, request.path))
        if request.path == "/data":
            response = self.graph_store(request, Response)
        elif request.path == "/sparql":
            response = self.sparql(request, Response)
        else:
            response = Response("not here", status=404)
        return response(environ, start_response)

    def graph_store(self, request, Response):  # type: ignore[no-untyped-def]
        ox = self.ox
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.USER, self.PASSWORD):
            return Response("who are you?", status=401, headers={"WWW-Authenticate": 'Basic realm="store"'})
        graph = ox.NamedNode(request.args["graph"])
        exists = self.store.contains_named_graph(graph)
        if request.method == "GET":
            if not exists:
                return Response(status=404)
            return Response(self.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph), mimetype="application/n-triples")
        if request.method == "DELETE":
            if not exists:
                return Response(status=404)
            self.store.remove_graph(graph)
            return Response(status=204)
        assert request.mimetype == "text/turtle", request.mimetype
        if request.method == "PUT":
            self.store.remove_graph(graph)
        self.store.load(request.get_data(), ox.RdfFormat.TURTLE, to_graph=graph)
        return Response(status=204 if exists else 201)

    def sparql(self, request, Response):  # type: ignore[no-untyped-def]
        import time

        ox = self.ox
        query = request.values["query"]
        if "#sleep" in query:
            time.sleep(30)
        options = {}
        if request.values.getlist("default-graph-uri"):
            options["default_graph"] = [ox.NamedNode(g) for g in request.values.getlist("default-graph-uri")]
        else:
            options["use_default_graph_as_union"] = True
        try:
            result = self.store.query(query, **options)
        except SyntaxError as exc:
            return Response(f"Parse error: {exc}", status=400)
        accept = request.accept_mimetypes
        if isinstance(result, ox.QueryTriples):
            media = accept.best_match(["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]) or "text/turtle"
            return Response(result.serialize(format=ox.RdfFormat.from_media_type(media)), mimetype=media)
        media = accept.best_match(["application/sparql-results+json", "application/sparql-results+xml", "text/csv", "text/tab-separated-values"]) or "application/sparql-results+json"
        return Response(result.serialize(format=ox.QueryResultsFormat.from_media_type(media)), mimetype=media)

    def settings(self) -> dict[str, str]:
        """The trialpub settings that point at this store."""
        return {
            "triplestore": "remote",
            "triplestore_query_url": f"{self.url}/sparql",
            "triplestore_graph_store_url": f"{self.url}/data",
            "triplestore_user": self.USER,
            "triplestore_password": self.PASSWORD,
            "triplestore_auth": "basic",
        }



SCHEMA = "https://schema.org/"
# Trials by overall status, as the trial graphs say it.
BY_STATUS = (
    "PREFIX schema: <https://schema.org/>\n"
    "SELECT ?status (COUNT(DISTINCT ?t) AS ?n) WHERE { ?t schema:status ?status } GROUP BY ?status"
)


def term_iri(base_url: str, compact: str) -> str:
    """Expand a compact term of the JSON-LD context: a bare name is schema.org's, tp: ours."""
    return f"{base_url}/vocab#{compact[3:]}" if compact.startswith("tp:") else SCHEMA + compact


def sql_status_counts(store, base_url: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Count the SQL store's current trials by overall status, named as the graphs name them."""
    import sqlalchemy as sa

    from server import tables as t
    from server.codes import STATUSES

    query = sa.select(t.trials.c.overall_status, sa.func.count()).where(t.trials.c.removed_at.is_(None))
    with store.connect() as conn:
        rows = conn.execute(query.group_by(t.trials.c.overall_status)).all()
    return {term_iri(base_url, STATUSES[status]): count for status, count in rows}


def study_type_counts(paths: list[Path], base_url: str) -> dict[str, int]:
    """Count records by the schema.org study class their graphs give them."""
    import json
    from collections import Counter

    from server.codes import DEFAULT_STUDY_TYPE, STUDY_TYPES
    from server.trials import parse_trial

    kinds = Counter(
        STUDY_TYPES.get(parse_trial(json.loads(p.read_text())).design.study_type or "", DEFAULT_STUDY_TYPE)
        for p in paths
    )
    return {term_iri(base_url, kind): count for kind, count in kinds.items()}
