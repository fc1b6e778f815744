"""The JSON-LD a trial page embeds, assembled in one place, and its safe <script> form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .graph import script_json
from .trialview import TrialPage

__all__ = ["page_jsonld", "page_nodes", "script_json"]

SCHEMA = "https://schema.org/"
# schema.org terms, with the ones whose values are links read as IRIs (as schema.org's own context does).
CONTEXT = {"@vocab": SCHEMA, "url": {"@type": "@id"}, "item": {"@type": "@id"}, "isBasedOn": {"@type": "@id"}}


def page_nodes(
    page: TrialPage, *, canonical: str, site_url: str, breadcrumbs: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Describe the page itself: WebPage, its BreadcrumbList and the FAQPage of its visible questions."""
    trial = page.trial
    webpage: dict[str, Any] = {
        "@id": canonical,
        "@type": "WebPage",
        "url": canonical,
        "name": f"{trial.brief_title} ({trial.nct_id})",
        "description": page.description,
        "inLanguage": "en",
        "isPartOf": {"@id": f"{site_url}/#website", "@type": "WebSite", "name": "trialpub", "url": f"{site_url}/"},
        "about": {"@id": f"{canonical}#trial"},
        "breadcrumb": {"@id": f"{canonical}#breadcrumb"},
        "isBasedOn": page.registry_url,
    }
    if trial.last_update_posted:
        webpage["dateModified"] = trial.last_update_posted.date.isoformat()
    breadcrumb = {
        "@id": f"{canonical}#breadcrumb",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": index, "name": name, "item": url}
            for index, (name, url) in enumerate(breadcrumbs, start=1)
        ],
    }
    faq = {
        "@id": f"{canonical}#faq",
        "@type": "FAQPage",
        "url": f"{canonical}#faq",
        "isPartOf": {"@id": canonical},
        "mainEntity": [
            {"@type": "Question", "name": q.question, "acceptedAnswer": {"@type": "Answer", "text": q.answer}}
            for q in page.faq
        ],
    }
    return [webpage, breadcrumb, faq]


def page_jsonld(nodes: Sequence[Mapping[str, Any]], trial_document: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Put the page's nodes in one JSON-LD document, beside the trial's own graph when there is one.

    The trial's document keeps its context; the page's context follows it in a context array,
    so the page's terms read the same in both.
    """
    graph = [dict(node) for node in nodes]
    if trial_document is None:
        return {"@context": CONTEXT, "@graph": graph}
    document = dict(trial_document)
    context = document.pop("@context", None)
    trial_nodes = document.pop("@graph", None)
    if trial_nodes is None:
        trial_nodes = [document]
    contexts = [*(context if isinstance(context, list) else [context] if context else []), CONTEXT]
    return {"@context": contexts, "@graph": [*trial_nodes, *graph]}
