"""HTML pages: the home page and the trial page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from ..store import StoredTrial, store_of
from ..trials import parse_trial

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> str:
    """List the trials we hold, a page at a time."""
    store = store_of(current_app)
    size = current_app.config["PAGE_SIZE"]
    page = _page_number()
    total = store.count_trials()
    trials = store.list_trials(offset=(page - 1) * size, limit=size)
    pages = max(1, -(-total // size))
    return render_template("index.html", trials=trials, total=total, page=page, pages=pages)


def _page_number() -> int:
    """Read ``?page=``: a whole number from 1."""
    text = request.args.get("page", "1")
    if not text.isdigit() or int(text) < 1 or len(text) > 9:
        abort(400, f"page must be a whole number from 1, not {text[:40]!r}")
    return int(text)


def render_trial(stored: StoredTrial) -> str:
    """Render the HTML page of one trial (linked_data.trial negotiates and calls this for HTML)."""
    return render_template("trial.html", trial=parse_trial(stored.record), stored=stored)
