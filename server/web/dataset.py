"""The dataset's description (VoID, DCAT, schema.org Dataset) and its dumps, over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, abort, current_app, render_template, request, send_from_directory
from werkzeug.wrappers import Response

from ..dataset import DatasetFacts, dataset_jsonld, void_graph
from ..dates import as_utc
from ..dumps import CHECKSUM_SUFFIX, DUMP_NAME, dumps_folder, list_dumps
from ..indexstate import get_state
from ..sparql import GRAPH_FORMATS, rdflib_format
from ..store import store_of

bp = Blueprint("dataset", __name__)

EXAMPLES = 3


def dumps_dir(app: Flask) -> Path:
    """Return the folder the app serves dumps from."""
    return dumps_folder(app.config)


def dataset_facts(app: Flask) -> DatasetFacts:
    """Gather what the descriptions say: statistics, dumps, the last sync, example trials."""
    store = store_of(app)
    run = store.last_run(outcome="success")
    finished = run["finished_at"] if run else None
    return DatasetFacts(
        base_url=app.config["BASE_URL"],
        license=app.config["DATASET_LICENSE"],
        statistics=get_state(store, "statistics") or {},
        dumps=list_dumps(dumps_dir(app)),
        last_sync=as_utc(finished).isoformat() if finished else None,
        examples=[row["nct_id"] for row in store.list_trials(limit=EXAMPLES)],
    )


@bp.app_template_global("dataset_jsonld")
def home_dataset_jsonld() -> dict[str, Any]:
    """Return the schema.org Dataset the home page embeds as JSON-LD."""
    return dataset_jsonld(dataset_facts(current_app))


@bp.after_request
def open_to_all_origins(response: Response) -> Response:
    """Let pages on any site read the description and the dumps (CORS)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/void")
def void() -> Response:
    """Describe the dataset in VoID and DCAT; Turtle unless Accept asks for another RDF format."""
    media_type = request.accept_mimetypes.best_match(list(GRAPH_FORMATS.values())) or GRAPH_FORMATS["ttl"]
    graph = void_graph(dataset_facts(current_app))
    response = Response(graph.serialize(format=rdflib_format(media_type)), mimetype=media_type)
    response.vary.add("Accept")
    return response


@bp.get("/dumps/")
def dumps_index() -> str:
    """List the dumps with their sizes and checksums."""
    return render_template("dumps.html", dumps=list_dumps(dumps_dir(current_app)))


@bp.get("/dumps/<name>")
def dump_file(name: str) -> Response:
    """Serve a dump or its checksum file."""
    data_name = name.removesuffix(CHECKSUM_SUFFIX)
    if not DUMP_NAME.match(data_name) or data_name not in {d.name for d in list_dumps(dumps_dir(current_app))}:
        abort(404, f"There is no dump named {name[:80]!r}; the list is at /dumps/.")
    mimetype = "text/plain" if name.endswith(CHECKSUM_SUFFIX) else "application/gzip"
    return send_from_directory(dumps_dir(current_app), name, mimetype=mimetype, max_age=86400)
