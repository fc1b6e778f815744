"""Change feeds over HTTP: per condition and for everything, in Atom and RSS, with archives and OPML."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request, url_for
from sqlalchemy.engine import Connection
from werkzeug.exceptions import BadRequest
from werkzeug.http import is_resource_modified

from .. import changefeed as cf
from ..changetext import entry_title
from ..dates import as_utc
from ..feedentry import EntryContext
from ..feeds import FORMATS, Entry, FeedDocument, render, tag_uri, write_entry
from ..opml import Outline, opml_document
from ..renditions import Renditions, attach_cache, cache_of
from ..store import store_of
from .feedquery import FeedQuery, parse_feed_query

bp = Blueprint("feeds", __name__)
FEED_DOCUMENTS = "trialpub.feed_documents"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The year the feed ids' tagging authority is dated by when none is configured (RFC 4151).
_TAG_YEAR = "2026"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def register(app: Flask) -> None:
    """Attach the blueprint and the cache of written feed documents to the app."""
    attach_cache(app, FEED_DOCUMENTS, app.config["FEED_CACHE_MB"])
    app.register_blueprint(bp)


def feed_documents_of(app: Flask) -> Renditions:
    """Return the cache of written feed documents, keyed by their ETag."""
    return cache_of(app, FEED_DOCUMENTS)


@bp.get("/conditions/<slug>.<any(atom, rss):fmt>")
def condition_feed(slug: str, fmt: str) -> Response:
    """Serve one condition's change feed, or one of its archive documents."""
    if not _SLUG.match(slug):
        abort(404, f"{slug[:80]!r} is not a condition name: they look like multiple-myeloma.")
    query = parse_feed_query(request.args, slug)
    with store_of(current_app).connect() as conn:
        label = cf.condition_label(conn, slug)
        if label is None:
            abort(404, f"No trial in this registry copy is filed under the condition {slug!r}.")
        return _feed(conn, fmt, f"/conditions/{slug}", query, f"Changes in {label} trials",
                     f"Every new trial and every change of trials filed under {label}, from ClinicalTrials.gov.")


@bp.get("/changes.<any(atom, rss):fmt>")
def changes_feed(fmt: str) -> Response:
    """Serve the feed of every change, or one of its archive documents."""
    query = parse_feed_query(request.args)
    with store_of(current_app).connect() as conn:
        return _feed(conn, fmt, "/changes", query, "Changes in clinical trials",
                     "Every new trial and every change in this copy of ClinicalTrials.gov.")


@bp.get("/changes")
def changes_page() -> str:
    """List the newest changes with links to their feeds."""
    query = parse_feed_query(request.args)
    with store_of(current_app).connect() as conn:
        listed = cf.newest(conn, query.filter, current_app.config["FEED_SIZE"])
        items = cf.items_for(conn, cf.events_of(conn, listed))
    rows = [
        (entry_title(i.event, i.trial), url_for("linked_data.trial", nct_id=i.event.nct_id), i.event) for i in items
    ]
    suffix = f"?{query.canonical()}" if query.canonical() else ""
    return render_template("changes.html", rows=rows, suffix=suffix)


@bp.get("/conditions.opml")
def conditions_opml() -> Response:
    """List every condition feed (or those whose name contains ``q``) for feed readers."""
    search = " ".join(request.args.get("q", "").split())
    if len(search) > 200:
        raise BadRequest("q is at most 200 characters")
    base = current_app.config["BASE_URL"]
    with store_of(current_app).connect() as conn:
        # Conditions change only when a version is stored: its number names the list.
        etag = _digest(["opml", base, search, cf.last_version_id(conn)])

        def build() -> bytes:
            outlines = [
                Outline(
                    f"{r.label} ({r.trials} trial{'' if r.trials == 1 else 's'})",
                    f"{base}/conditions/{r.slug}.atom",
                    f"{base}/conditions/{r.slug}",
                )
                for r in cf.conditions(conn, search or None)
            ]
            title = f"trialpub condition feeds matching “{search}”" if search else "trialpub condition feeds"
            return opml_document(title, outlines)

        return _conditional(build, "text/x-opml", etag, None, current_app.config["FEED_MAX_AGE"])


@bp.app_context_processor
def autodiscovery() -> dict[str, Any]:
    """Give templates ``feed_alternates(...)``: the feeds a page announces in its head."""
    return {"feed_alternates": feed_alternates}


def feed_alternates() -> list[dict[str, str]]:
    """List (href, type, title) of the feeds of every change, for a page's head to announce."""
    return [
        {"href": url_for("feeds.changes_feed", fmt=fmt), "type": mime, "title": f"Every change ({fmt.upper()})"}
        for fmt, mime in FORMATS.items()
    ]


def _feed(conn: Connection, fmt: str, path: str, query: FeedQuery, title: str, description: str) -> Response:
    config = current_app.config
    size: int = config["FEED_SIZE"]
    base: str = config["BASE_URL"]
    last_id, last_time = cf.last_event(conn)
    closed = cf.closed_until(last_id, size)
    window = query.archive
    if window is None:
        listed = cf.newest(conn, query.filter, size)
        prev = cf.prev_window(conn, query.filter, closed + 1, size) if closed else None
        next_ = None
    else:
        if (window.lo - 1) % size or window.hi != window.lo + size - 1 or window.hi > closed:
            abort(404, f"There is no archive {window}: archives are closed windows of {size} event numbers.")
        listed = cf.in_window(conn, query.filter, window)
        prev = cf.prev_window(conn, query.filter, window.lo, size)
        next_ = cf.next_window(conn, query.filter, window.hi, closed, size)

    def url(w: cf.Window | None) -> str:
        q = query.at(w).canonical()
        return f"{base}{path}.{fmt}" + (f"?{q}" if q else "")

    updated = max((e.detected_at for e in listed), default=None) or _last_success()
    doc = FeedDocument(
        feed_id=tag_uri(_tag_authority(), "feed:" + path + (f"?{topic}" if (topic := query.canonical(False)) else "")),
        title=title + (f" (archive {window})" if window else ""),
        description=description,
        self_url=url(window),
        html_url=f"{base}{path}",
        updated=updated,
        hubs=tuple(config["WEBSUB_HUBS"]),
        current_url=url(None) if window else None,
        prev_archive=url(prev) if prev else None,
        next_archive=url(next_) if next_ else None,
    )
    ctx = EntryContext(base, query.near, query.filter.countries, config["FEED_SITES"])
    # A subscription document may change with any new event (filters follow the trials' current
    # state); an archive only gains a next-archive link, when a newer window closes.
    changed = last_time if window is None else cf.detected_until(conn, closed)
    modified = (changed or updated).replace(microsecond=0)
    # The document is a function of exactly these, so they name it without building it.
    authority = _tag_authority()
    etag = _digest([fmt, repr(doc), repr(ctx), authority, [(e.id, e.event_id) for e in listed]])
    max_age = config["FEED_ARCHIVE_MAX_AGE"] if window else config["FEED_MAX_AGE"]

    def build() -> bytes:
        # Entries are read and written only when no reader holds this version and no worker kept it.
        documents = feed_documents_of(current_app)
        return documents.get(etag, lambda: render(fmt, doc, _entries(conn, listed, ctx, authority), ctx))

    return _conditional(build, FORMATS[fmt], etag, modified, max_age)


def _entries(conn: Connection, listed: list[cf.Listed], ctx: EntryContext, authority: str) -> list[Entry]:
    """Write the listed events' entries, reusing those written before for the same context."""
    cache = feed_documents_of(current_app)

    def key(event_id: str) -> tuple[str, ...]:
        return ("entry", event_id, repr(ctx), authority)

    kept: dict[str, Entry] = {}
    for x in listed:
        if (found := cache.find(key(x.event_id))) is not None:
            kept[x.event_id] = pickle.loads(found)
    missing = [x for x in listed if x.event_id not in kept]
    for item in cf.items_for(conn, cf.events_of(conn, missing)):
        entry = kept[item.event.event_id] = write_entry(item, ctx, authority)
        # Only an event's own version is fixed for good; an entry written from the current record is not kept.
        if item.event.version_id is not None:
            cache.keep(key(item.event.event_id), pickle.dumps(entry))
    return [kept[x.event_id] for x in listed]


def _conditional(
    build: Callable[[], bytes], mimetype: str, etag: str, modified: dt.datetime | None, max_age: int
) -> Response:
    """Answer 304 if the client holds this version, else build the body; validators and caching either way."""
    if is_resource_modified(request.environ, etag=etag, last_modified=modified):
        response = Response(build(), content_type=f"{mimetype}; charset=utf-8")
    else:
        response = Response(status=304)
    response.set_etag(etag)
    if modified is not None:
        response.last_modified = modified
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def _digest(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def _tag_authority() -> str:
    configured: str = current_app.config["FEED_TAG_AUTHORITY"]
    return configured or f"{urlsplit(current_app.config['BASE_URL']).hostname},{_TAG_YEAR}"


def _last_success() -> dt.datetime:
    """Date an empty feed by the last successful load or sync: nothing had changed as of then."""
    run = store_of(current_app).last_run(outcome="success")
    return as_utc(run["finished_at"]) if run and run["finished_at"] else _EPOCH

