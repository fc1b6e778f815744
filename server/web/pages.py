"""HTML pages: the home page with search and latest changes, and the trial page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from .. import explain, listings
from ..dates import utcnow
from ..glossary import load_glossary
from ..pagemeta import page_jsonld, page_nodes, script_json
from ..store import StoredTrial, store_of
from ..trials import Trial, canonical_nct_id, parse_trial
from ..trialview import build_trial_page
from .params import Paging, choice, page_number

bp = Blueprint("pages", __name__)

# The RDF documents of a trial, by file extension (served by the linked-data routes).
RDF_FORMATS = (
    ("jsonld", "application/ld+json", "JSON-LD"),
    ("ttl", "text/turtle", "Turtle"),
    ("nt", "application/n-triples", "N-Triples"),
    ("rdf", "application/rdf+xml", "RDF/XML"),
)
LATEST_CHANGES = 20
MAX_QUERY_CHARS = 200


@bp.app_template_filter("status_label")
def status_label(code: str | None) -> str:
    """Name a recruiting status in words."""
    return explain.label(code, explain.STATUS_LABELS)


@bp.app_template_filter("phase_label")
def phase_label(code: str | None) -> str:
    """Name a phase in words."""
    return explain.label(code, explain.PHASE_LABELS)


@bp.app_template_filter("code_label")
def code_label(code: str | None) -> str:
    """Make any other registry code readable: ``DIETARY_SUPPLEMENT`` -> ``Dietary supplement``."""
    return explain.label(code, {})


@bp.get("/")
def home() -> str | Response:
    """Search trials by NCT ID or words, filtered by status and phase; show the latest changes."""
    query = request.args.get("q", "").strip()
    if len(query) > MAX_QUERY_CHARS:
        abort(400, f"The search may be at most {MAX_QUERY_CHARS} characters long.")
    nct_id = canonical_nct_id(query)
    if nct_id is not None:
        return redirect(url_for("linked_data.trial", nct_id=nct_id))
    status = choice("status", explain.STATUS_LABELS)
    phase = choice("phase", explain.PHASE_LABELS)
    size = current_app.config["PAGE_SIZE"]
    page = page_number()
    store = store_of(current_app)
    found = listings.search_trials(
        store, query.split(), status=status, phase=phase, offset=(page - 1) * size, limit=size
    )
    changes = store.events(limit=LATEST_CHANGES)
    return render_template(
        "index.html",
        query=query,
        status=status,
        phase=phase,
        statuses=explain.STATUS_LABELS,
        phases=explain.PHASE_LABELS,
        found=found,
        paging=Paging(page, size, found.total),
        changes=changes,
        change_titles=listings.titles(store, (e.nct_id for e in changes)),
    )


# What a page keeps of a trial document too heavy to embed whole: what search engines read.
# The full description stays one link away (rel=alternate, /trials/NCT….jsonld).
_CORE = (
    "@context", "@id", "@type", "name", "alternateName", "description", "identifier", "url", "sameAs",
    "mainEntityOfPage", "status", "tp:phase", "trialDesign", "studyDesign", "tp:enrollment",
    "healthCondition", "sponsor", "studyLocation",
)


def render_trial(stored: StoredTrial, trial_document: Mapping[str, Any]) -> str:
    """Render a stored trial's page, embedding the trial's own JSON-LD document.

    A trial with thousands of sites has a description of megabytes; when embedding it whole
    would make the page heavier than ``page_max_bytes``, the page embeds its core only.
    """
    trial = parse_trial(stored.record)
    html = render_trial_page(stored, trial, trial_document)
    if len(html.encode()) > current_app.config["PAGE_MAX_BYTES"]:
        core = {k: v for k, v in trial_document.items() if k in _CORE}
        html = render_trial_page(stored, trial, core)
    return html


def render_trial_page(stored: StoredTrial, trial: Trial, trial_document: Mapping[str, Any] | None = None) -> str:
    """Render a trial's HTML page from the store alone (the registry is never asked)."""
    store = store_of(current_app)
    base = current_app.config["BASE_URL"]
    canonical = f"{base}/trials/{trial.nct_id}"
    last_run = store.last_run(outcome="success")
    page = build_trial_page(
        trial,
        data_as_of=listings.version_first_seen(store, stored.version_id),
        events=store.events(nct_id=trial.nct_id, kinds=("status", "site_status"), limit=200),
        glossary=load_glossary(),
        today=utcnow().date(),
    )
    own = [c for c in page.conditions if not c.is_ancestor]
    crumbs = [("Home", f"{base}/")]
    if own:
        crumbs += [("Conditions", f"{base}/conditions"), (own[0].label, f"{base}/conditions/{own[0].slug}")]
    crumbs.append((trial.nct_id, canonical))
    jsonld = page_jsonld(page_nodes(page, canonical=canonical, site_url=base, breadcrumbs=crumbs), trial_document)
    return render_template(
        "trial.html",
        page=page,
        trial=trial,
        stored=stored,
        base=base,
        canonical=canonical,
        crumbs=crumbs,
        last_checked=last_run["finished_at"] if last_run else None,
        rdf_formats=RDF_FORMATS,
        own_conditions=own,
        broader_conditions=[c for c in page.conditions if c.is_ancestor],
        # script_json escapes < > & itself, so the JSON is inert inside <script>.
        jsonld=Markup(script_json(jsonld)),
    )
