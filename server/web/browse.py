"""Condition pages: every condition with its trial count, and one condition's trials."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import explain, listings
from ..conditions import slugify
from ..store import store_of
from .params import Paging, choice, page_number

bp = Blueprint("browse", __name__)

CONDITIONS_PER_PAGE = 200
CONDITION_CHANGES = 20


@bp.get("/conditions")
def conditions() -> str:
    """List all conditions alphabetically, with their trial counts and feeds."""
    page = page_number()
    found = listings.list_conditions(
        store_of(current_app), offset=(page - 1) * CONDITIONS_PER_PAGE, limit=CONDITIONS_PER_PAGE
    )
    return render_template("conditions.html", found=found, paging=Paging(page, CONDITIONS_PER_PAGE, found.total))


@bp.get("/conditions/<slug>")
def condition(slug: str) -> str | Response:
    """List one condition's trials, optionally of one status, with its feeds and latest changes."""
    if "." in slug:
        # "/conditions/asthma.atom" belongs to the feeds, which answer it where they are served.
        abort(404, f"There is no page {slug[:80]!r}.")
    canonical = slugify(slug)
    if canonical != slug:
        if not canonical:
            abort(404, f"{slug[:80]!r} is not the name of a condition page.")
        return redirect(url_for("browse.condition", slug=canonical), code=301)
    store = store_of(current_app)
    found_condition = listings.condition(store, slug)
    if found_condition is None:
        abort(404, f"No trial in this copy of the registry is filed under {slug!r}.")
    status = choice("status", explain.STATUS_LABELS)
    size = current_app.config["PAGE_SIZE"]
    page = page_number()
    found = listings.condition_trials(store, slug, status=status, offset=(page - 1) * size, limit=size)
    changes = store.events(slug=slug, limit=CONDITION_CHANGES)
    return render_template(
        "condition.html",
        condition=found_condition,
        status=status,
        statuses=explain.STATUS_LABELS,
        found=found,
        paging=Paging(page, size, found.total),
        changes=changes,
        change_titles=listings.titles(store, (e.nct_id for e in changes)),
        base=current_app.config["BASE_URL"],
    )
