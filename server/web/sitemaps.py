"""Sitemaps for crawlers: an index of sitemaps of at most ``sitemap_size`` URLs, and robots.txt."""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app

from .. import listings
from ..store import store_of

bp = Blueprint("sitemaps", __name__)

XML = "application/xml; charset=utf-8"
NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# Pages of the site itself, listed first in the sitemaps of condition pages.
STATIC_PAGES = ("/", "/conditions")


def _xml(root: str, entries: Iterable[str]) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NS}">\n{"".join(entries)}</{root}>\n'
    return Response(body, mimetype="application/xml", content_type=XML)

# A sitemap number past this one would make an offset no database takes (a 64-bit integer).
MAX_SITEMAPS = 10**9


def _entry(tag: str, loc: str, lastmod: str | None) -> str:
    modified = f"<lastmod>{escape(lastmod)}</lastmod>" if lastmod else ""
    return f"<{tag}><loc>{escape(loc)}</loc>{modified}</{tag}>\n"


@bp.get("/sitemap.xml")
def index() -> Response:
    """List the sitemaps: trials in NCT ID order, a sitemap per ``sitemap_size`` trials."""
    base = current_app.config["BASE_URL"]
    size = current_app.config["SITEMAP_SIZE"]
    store = store_of(current_app)
    entries = [
        _entry("sitemap", f"{base}/sitemaps/{number}.xml", lastmod)
        for number, lastmod in enumerate(listings.sitemap_lastmods(store, size), start=1)
    ]
    pages = len(STATIC_PAGES) + listings.list_conditions(store, limit=0).total
    entries += [
        _entry("sitemap", f"{base}/sitemaps/conditions-{number}.xml", None)
        for number in range(1, -(-pages // size) + 1)
    ]
    return _xml("sitemapindex", entries)


@bp.get("/sitemaps/<int:number>.xml")
def trials(number: int) -> Response:
    """List one sitemap's trial pages, each with the date of its last registry update."""
    base = current_app.config["BASE_URL"]
    size = current_app.config["SITEMAP_SIZE"]
    in_range = 1 <= number <= MAX_SITEMAPS
    rows = listings.sitemap_entries(store_of(current_app), offset=(number - 1) * size, limit=size) if in_range else []
    if not rows:
        abort(404, f"There is no sitemap {number}.")
    return _xml("urlset", (_entry("url", f"{base}/trials/{nct_id}", lastmod) for nct_id, lastmod in rows))


@bp.get("/sitemaps/conditions-<int:number>.xml")
def conditions(number: int) -> Response:
    """List one sitemap's pages of the site itself: the home page, the condition index, each condition."""
    base = current_app.config["BASE_URL"]
    size = current_app.config["SITEMAP_SIZE"]
    if not 1 <= number <= MAX_SITEMAPS:
        abort(404, f"There is no sitemap of conditions {number}.")
    start = (number - 1) * size
    static = list(STATIC_PAGES[start : start + size])
    offset = max(0, start - len(STATIC_PAGES))
    limit = size - len(static)
    found = listings.list_conditions(store_of(current_app), offset=offset, limit=limit)
    entries = [_entry("url", f"{base}{path}", None) for path in static]
    entries += [_entry("url", f"{base}/conditions/{row.slug}", None) for row in found.rows]
    if not entries:
        abort(404, f"There is no sitemap of conditions {number}.")
    return _xml("urlset", entries)


@bp.get("/robots.txt")
def robots() -> Response:
    """Let crawlers in and point them to the sitemap index."""
    base = current_app.config["BASE_URL"]
    return Response(f"User-agent: *\nAllow: /\n\nSitemap: {base}/sitemap.xml\n", mimetype="text/plain")
