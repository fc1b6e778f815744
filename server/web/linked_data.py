"""Linked data on the web: each trial's document by content negotiation, the vocabulary, the context.

``/trials/NCT…`` is negotiated here for every format, HTML included: the HTML itself comes
from the pages blueprint's renderer, so the negotiation lives in one route.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, abort, current_app, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import graph
from ..dates import utcnow
from ..errors import TrialNotFound
from ..graph import BY_EXTENSION, BY_MIMETYPE, FORMATS, Format
from ..renditions import Renditions, attach_cache, cache_of
from ..store import StoredTrial, TrialHead, store_of
from ..trials import NCT_ID, Trial, canonical_nct_id
from ..vocabulary import load_vocabulary, vocabulary_terms
from . import pages

bp = Blueprint("linked_data", __name__)
RENDITIONS = "trialpub.renditions"
# The vocabulary is offered in the same formats as a trial, HTML first.
VOCAB_FORMATS: tuple[Format, ...] = FORMATS


def register(app: Flask) -> None:
    """Attach the blueprint and the rendition cache to the app."""
    attach_cache(app, RENDITIONS, app.config["RENDITION_CACHE_MB"])
    app.register_blueprint(bp)


def renditions_of(app: Flask) -> Renditions:
    """Return the rendition cache of an app."""
    return cache_of(app, RENDITIONS)


@bp.get("/trials/<nct_id>")
@bp.get("/trials/<nct_id>.<ext>")
def trial(nct_id: str, ext: str | None = None) -> Response:
    """Answer for one trial: its page or its description, by extension or by ``Accept``."""
    fmt = BY_EXTENSION.get(ext) if ext is not None else None
    if ext is not None and fmt is None:
        abort(404, f"There is no .{ext} format. Formats: {', '.join('.' + f.extension for f in FORMATS)}.")
    if not NCT_ID.match(nct_id):
        canonical = canonical_nct_id(nct_id)
        if canonical is None:
            abort(404, f"{nct_id!r} is not an NCT ID: they look like NCT01234567.")
        return redirect(url_for(".trial", nct_id=canonical, ext=ext), code=301)
    # The trials row alone names the version: enough for a 304 or a rendition already written.
    head = store_of(current_app).head(nct_id)
    if head.removed_at is not None:
        raise TrialNotFound(nct_id)
    negotiated = fmt is None
    fmt = fmt or _negotiate(FORMATS)
    if fmt is None:
        response = _not_acceptable(FORMATS)
    elif fmt.rdflib is None:
        response = Response(_page(head), mimetype=fmt.mimetype)
    else:
        response = _rendition_response(head, fmt)
    # One URL built, the others by extension: building each costs more than a cached answer.
    path = url_for(".trial", nct_id=nct_id)
    response.headers["Link"] = ", ".join(
        f'<{path}.{f.extension}>; rel="alternate"; type="{f.mimetype}"' for f in FORMATS
    )
    if negotiated:
        response.vary.add("Accept")
        if fmt is not None:
            response.headers["Content-Location"] = f"{path}.{fmt.extension}"
    return response


def trial_jsonld(stored: StoredTrial, trial: Trial | None = None) -> dict[str, Any]:
    """Return the JSON-LD document of a stored trial version (its context inline)."""
    config = current_app.config
    context = load_vocabulary(config["BASE_URL"]).context
    return graph.stored_document(stored, config["BASE_URL"], config["REGISTRY_URL"], context, trial)


def trial_script_json(stored: StoredTrial) -> str:
    """Return a trial's JSON-LD ready to go inside ``<script type="application/ld+json">``."""
    return graph.script_json(rendition(stored, BY_EXTENSION["jsonld"]).decode())


def rendition(head: TrialHead, fmt: Format) -> bytes:
    """Return a trial version in one RDF format, written once per version and kept in memory.

    The content hash names the record, and the document depends on nothing else of the version
    but its NCT ID and last update, both drawn from the record: the record is read only to write.
    """
    return renditions_of(current_app).get(
        (head.content_hash, fmt.extension),
        lambda: graph.serialize(trial_jsonld(store_of(current_app).full(head)), fmt),
    )


def _page(head: TrialHead) -> bytes:
    """Return a trial's page, rendered once per version, events, last good run and day, kept in memory."""
    store = store_of(current_app)
    # The page says how many days ago things happened, hence the day in the key.
    key = ("page", head.content_hash, head.version_id, *store.page_stamp(head.nct_id), utcnow().date())

    def render() -> bytes:
        stored = store.full(head)
        return pages.render_trial(stored, trial_jsonld(stored)).encode()

    return renditions_of(current_app).get(key, render)


def _rendition_response(head: TrialHead, fmt: Format) -> Response:
    etag = f"{graph.RENDITION_VERSION}-{head.content_hash[:32]}-{fmt.extension}"
    # Answer a revalidation before building anything.
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = Response(rendition(head, fmt), mimetype=fmt.mimetype)
    response.set_etag(etag)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _negotiate(formats: tuple[Format, ...]) -> Format | None:
    """Pick the format the client's ``Accept`` prefers; the first one when it sends none."""
    accept = request.accept_mimetypes
    if not accept:
        return formats[0]
    offered = [m for f in formats for m in (f.mimetype, *f.aliases)]
    best = accept.best_match(offered)
    return BY_MIMETYPE[best] if best else None


def _not_acceptable(formats: tuple[Format, ...]) -> Response:
    lines = [f"{f.mimetype} ({f.label})" for f in formats]
    body = "None of the media types in the Accept header is offered here. Offered:\n" + "\n".join(lines) + "\n"
    return Response(body, status=406, mimetype="text/plain")


@bp.get("/vocab")
def vocabulary() -> Response:
    """Show our vocabulary: a page with an anchor per term, or RDF by ``Accept``."""
    vocab = load_vocabulary(current_app.config["BASE_URL"])
    fmt = _negotiate(VOCAB_FORMATS)
    if fmt is None:
        response = _not_acceptable(VOCAB_FORMATS)
    elif fmt.rdflib is None:
        response = make_response(render_template("vocab.html", vocab=vocab, terms=vocabulary_terms(vocab)))
    elif fmt.extension == "ttl":
        # The file as written, comments and all, rebased on this site.
        response = Response(vocab.turtle, mimetype=fmt.mimetype)
    else:
        rdflib_format = fmt.rdflib
        body = renditions_of(current_app).get(
            ("vocab", vocab.base_url, fmt.extension),
            lambda: vocab.graph.serialize(format=rdflib_format, encoding="utf-8"),
        )
        response = Response(body, mimetype=fmt.mimetype)
    response.vary.add("Accept")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/context.jsonld")
def context() -> Response:
    """Serve the JSON-LD context our documents carry inline."""
    vocab = load_vocabulary(current_app.config["BASE_URL"])
    body = json.dumps({"@context": vocab.context}, indent=2, ensure_ascii=False)
    response = Response(body, mimetype="application/ld+json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
